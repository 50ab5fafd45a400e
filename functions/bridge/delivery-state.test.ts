import { describe, expect, it } from 'vitest';
import {
  DELIVERY_STATES,
  type DeliveryEvent,
  type DeliveryState,
  initialState,
  isKafkaAvailable,
  isSpooling,
  step,
  type Transition,
} from './delivery-state.ts';

const EVENTS: Record<string, DeliveryEvent> = {
  'push (fits)': { type: 'push', fits: true },
  'push (queue full)': { type: 'push', fits: false },
  kafkaDown: { type: 'kafkaDown', why: 'send failed' },
  'acked (spool empty)': { type: 'acked', spoolEmpty: true },
  'acked (spool not empty)': { type: 'acked', spoolEmpty: false },
  close: { type: 'close' },
};

/** Every state x every event, written out: the table is the specification. */
const TABLE: Record<DeliveryState, Record<keyof typeof EVENTS, Transition>> = {
  direct: {
    'push (fits)': { state: 'direct', effects: ['enqueue'] },
    'push (queue full)': { state: 'draining', effects: ['warnQueueFull', 'spool'] },
    kafkaDown: { state: 'outage', effects: ['announceOutage', 'spoolQueue'] },
    'acked (spool empty)': { state: 'direct', effects: [] },
    'acked (spool not empty)': { state: 'draining', effects: [] },
    close: { state: 'closed', effects: [] },
  },
  draining: {
    'push (fits)': { state: 'draining', effects: ['spool'] },
    'push (queue full)': { state: 'draining', effects: ['spool'] },
    kafkaDown: { state: 'outage', effects: ['announceOutage', 'spoolQueue'] },
    'acked (spool empty)': { state: 'direct', effects: [] },
    'acked (spool not empty)': { state: 'draining', effects: [] },
    close: { state: 'closed', effects: [] },
  },
  outage: {
    'push (fits)': { state: 'outage', effects: ['spool'] },
    'push (queue full)': { state: 'outage', effects: ['spool'] },
    kafkaDown: { state: 'outage', effects: [] },
    'acked (spool empty)': { state: 'direct', effects: ['announceRecovery'] },
    'acked (spool not empty)': { state: 'draining', effects: ['announceRecovery'] },
    close: { state: 'closed', effects: [] },
  },
  closed: {
    'push (fits)': { state: 'closed', effects: ['drop'] },
    'push (queue full)': { state: 'closed', effects: ['drop'] },
    kafkaDown: { state: 'closed', effects: [] },
    'acked (spool empty)': { state: 'closed', effects: [] },
    'acked (spool not empty)': { state: 'closed', effects: [] },
    close: { state: 'closed', effects: [] },
  },
};

const cases = DELIVERY_STATES.flatMap((s) =>
  Object.entries(EVENTS).map(([name, event]) => [s, name, event, TABLE[s][name]!] as const),
);

describe('delivery state machine', () => {
  it('the table covers every state and every event kind', () => {
    expect(Object.keys(TABLE).sort()).toEqual([...DELIVERY_STATES].sort());
    expect(new Set(Object.values(EVENTS).map((e) => e.type))).toEqual(
      new Set(['push', 'kafkaDown', 'acked', 'close']),
    );
    expect(cases).toHaveLength(4 * 6);
  });

  it.each(cases)('%s + %s', (state, _name, event, want) => {
    expect(step(state, event)).toEqual(want);
  });

  it('is pure: the same input gives the same output and the reason of an outage does not matter', () => {
    const a = step('direct', { type: 'kafkaDown', why: 'no acknowledgement' });
    const b = step('direct', { type: 'kafkaDown', why: 'send failed', err: new Error('x') });
    expect(a).toEqual(b);
  });

  it('starts draining when a previous run left records in the spool', () => {
    expect(initialState(true)).toBe('direct');
    expect(initialState(false)).toBe('draining');
  });

  it('is ready (not spooling, Kafka available) only when direct', () => {
    expect(DELIVERY_STATES.map((s) => [s, isSpooling(s), isKafkaAvailable(s)])).toEqual([
      ['direct', false, true],
      ['draining', true, true],
      ['outage', true, false],
      ['closed', false, true],
    ]);
  });
});
