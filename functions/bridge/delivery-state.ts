/**
 * The delivery state machine, as one pure transition function (`step`). `delivery.ts` owns the I/O (queue,
 * spool, sink, timers, logs, hooks) and performs the effects `step` returns; it keeps no mode flags of its own.
 *
 * States:
 * - `direct`   Kafka acknowledges and the spool is empty: new records wait in the in-memory queue.
 * - `draining` Kafka acknowledges but the spool holds records (queue overflow, or an outage just ended, or a
 *              previous run left some): new records are appended to the spool so they stay behind it.
 * - `outage`   a send failed or was not acknowledged within the stall time: the queue was made durable in the
 *              spool, new records are spooled, readiness is false.
 * - `closed`   `close()` ran: new records are refused (counted as dropped, never reordered into the spool).
 *
 * Events:
 * - `push`      records arrive; `fits` says whether the in-memory queue has room for them.
 * - `kafkaDown` a send failed, or stalled past `stallMs`.
 * - `acked`     Kafka acknowledged a batch (after its spool commit); `spoolEmpty` is the spool after it.
 * - `close`     the bridge is shutting down.
 */
export type DeliveryState = 'direct' | 'draining' | 'outage' | 'closed';

export type DeliveryEvent =
  | { readonly type: 'push'; readonly fits: boolean }
  /** `why` and `err` are for the log only; they do not change the transition. */
  | { readonly type: 'kafkaDown'; readonly why: string; readonly err?: unknown }
  | { readonly type: 'acked'; readonly spoolEmpty: boolean }
  | { readonly type: 'close' };

/** What the I/O layer does for an event, in this order. */
export type DeliveryEffect =
  /** Keep the pushed records in the in-memory queue. */
  | 'enqueue'
  /** Append the pushed records to the spool. */
  | 'spool'
  /** Refuse the pushed records (counted). */
  | 'drop'
  /** Log that the queue overflowed into the spool. */
  | 'warnQueueFull'
  /** Log and report (hook) that Kafka is unavailable. */
  | 'announceOutage'
  /** Move the in-memory queue in front of the spool: it is older than everything spooled. */
  | 'spoolQueue'
  /** Log and report (hook) that Kafka acknowledges again. */
  | 'announceRecovery';

export interface Transition {
  readonly state: DeliveryState;
  readonly effects: readonly DeliveryEffect[];
}

export const DELIVERY_STATES: readonly DeliveryState[] = ['direct', 'draining', 'outage', 'closed'];

/** A spool left by a previous run is sent first: the bridge starts draining it. */
export function initialState(spoolEmpty: boolean): DeliveryState {
  return spoolEmpty ? 'direct' : 'draining';
}

export function step(state: DeliveryState, event: DeliveryEvent): Transition {
  if (state === 'closed') return { state, effects: event.type === 'push' ? ['drop'] : [] };
  switch (event.type) {
    case 'push':
      if (state !== 'direct') return { state, effects: ['spool'] };
      return event.fits
        ? { state, effects: ['enqueue'] }
        : { state: 'draining', effects: ['warnQueueFull', 'spool'] };
    case 'kafkaDown':
      return state === 'outage'
        ? { state, effects: [] }
        : { state: 'outage', effects: ['announceOutage', 'spoolQueue'] };
    case 'acked': {
      const next = event.spoolEmpty ? 'direct' : 'draining';
      return { state: next, effects: state === 'outage' ? ['announceRecovery'] : [] };
    }
    case 'close':
      return { state: 'closed', effects: [] };
  }
}

/** Readiness and the metrics' view of a state. */
export const isSpooling = (s: DeliveryState): boolean => s === 'draining' || s === 'outage';
export const isKafkaAvailable = (s: DeliveryState): boolean => s !== 'outage';
