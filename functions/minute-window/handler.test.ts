import { describe, expect, it } from 'vitest';
import type { ScaledSums } from '../../shared/market/aggregate.ts';
import { MINUTE_MS } from '../../shared/market/time.ts';
import { createRegistry, registerMetrics } from '../../shared/observability/metrics.ts';
import { batch, quietLog } from '../../test/market-fixtures.ts';
import { type MinuteWindowStore, minuteWindow } from './handler.ts';

const NOW = Date.UTC(2026, 0, 5, 12, 30, 30);
const minute = (t: number) => Math.floor(t / MINUTE_MS) * MINUTE_MS;

function setup(opts: { failAdd?: boolean } = {}) {
  const claimed = new Set<string>();
  const released: string[] = [];
  const added: [string, number, ScaledSums][] = [];
  const store: MinuteWindowStore = {
    claimEvent: async (id) => {
      if (claimed.has(id)) return false;
      claimed.add(id);
      return true;
    },
    releaseEvent: async (id) => {
      claimed.delete(id);
      released.push(id);
    },
    addCounters: async (symbol, byMinute) => {
      if (opts.failAdd) throw new Error('Cassandra timeout');
      for (const [m, s] of byMinute) added.push([symbol, m, s]);
    },
  };
  const registry = createRegistry();
  const fn = minuteWindow({
    store,
    finalizeHorizonS: 3600,
    finalizeLatenessS: 10,
    metrics: registerMetrics(registry, ['lateTrades', 'windowDuplicates', 'replayedEvents']),
    now: () => NOW,
  });
  const value = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
  return { fn, added, released, value };
}

describe('minute-window handler', () => {
  it('adds one counter row per minute of the event, exactly once per event id', async () => {
    const { fn, added, value } = setup();
    const t = NOW - 70_000;
    const ev = batch('AAPL', [
      { t, p: 10, v: 1 },
      { t: t + 1, p: 12, v: 3 },
      { t: NOW - 1_000, p: 11, v: 2 },
    ]);
    await fn.handle(ev, { log: quietLog });
    await fn.handle(ev, { log: quietLog }); // a redelivery
    expect(added.map(([s, m, sums]) => [s, m, sums.trades])).toEqual([
      ['AAPL', minute(t), 2n],
      ['AAPL', minute(NOW - 1_000), 1n],
    ]);
    expect(await value('mp_window_duplicates_total')).toBe(1);
  });

  it('leaves minutes older than the finalizer window to the finalizer and counts them late', async () => {
    const { fn, added, value } = setup();
    await fn.handle(batch('AAPL', [{ t: NOW - 2 * 3600_000, p: 1, v: 1 }]), { log: quietLog });
    expect(added).toEqual([]);
    expect(await value('mp_late_trades_total')).toBe(1);
  });

  it('releases its claim when the counter write fails, so the retry is counted', async () => {
    const { fn, released } = setup({ failAdd: true });
    const ev = batch('AAPL', [{ t: NOW - 1_000, p: 1, v: 1 }]);
    await expect(fn.handle(ev, { log: quietLog })).rejects.toThrow('Cassandra timeout');
    expect(released).toEqual([ev.id]);
  });
});
