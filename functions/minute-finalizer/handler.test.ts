import { afterEach, describe, expect, it, vi } from 'vitest';
import { allMetrics, quietLog } from '../../test/market-fixtures.ts';
import { type FinalizerStore, minuteFinalizer } from './handler.ts';

const M = Date.UTC(2026, 10, 22, 12, 0, 0);

function finalizerAt(nowMs: number, latenessS: number) {
  const calls: number[] = [];
  const store: FinalizerStore = {
    listSymbols: async () => {
      calls.push(Date.now());
      return [];
    },
    liveRange: async () => [],
    candleMarks: async () => new Map(),
    minuteTrades: async () => [],
    upsertCandle: async () => {},
    addCounters: async () => {},
    deleteCountersBefore: async () => {},
    liveRow: async () => null,
    deleteCandle: async () => {},
    finalizeRequests: async () => [],
    clearFinalizeRequest: async () => {},
    acquireLease: async () => true,
    renewLease: async () => true,
    releaseLease: async () => {},
    lastRunStarted: async () => null,
    recordRunStarted: async () => true,
  };
  const f = minuteFinalizer({
    store,
    finalizeLatenessS: latenessS,
    finalizeHorizonS: 3600,
    counterRetentionS: 86400,
    metrics: allMetrics(),
    now: () => nowMs,
  });
  return { f, calls };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('finalizer tick', () => {
  it('waits out the allowed lateness of the minute that just ended before it runs', async () => {
    vi.useFakeTimers();
    const { f, calls } = finalizerAt(M + 3000, 10);
    const done = f.handle({ id: 't', type: 'dev.knative.sources.ping' }, { log: quietLog });
    await vi.advanceTimersByTimeAsync(7000);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(300);
    await done;
    expect(calls).toHaveLength(1);
  });

  it.each([
    ['a tick after the lateness', M + 15_000, 10],
    ['a lateness too long to wait for', M + 3000, 120],
  ])('runs at once for %s', async (_name, nowMs, latenessS) => {
    const { f, calls } = finalizerAt(nowMs, latenessS);
    await f.handle({ id: 't', type: 'dev.knative.sources.ping' }, { log: quietLog });
    expect(calls).toHaveLength(1);
  });
});
