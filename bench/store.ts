/**
 * Cassandra write paths of the functions, without HTTP or Kafka: events of a few trades written by
 * MarketStore at a fixed concurrency. Compares the trade-writer modes (unlogged batch per partition vs
 * concurrent inserts) and measures minute-window's claim + counter batch.
 * Env: BENCH_STORE_EVENTS (default 5000), BENCH_STORE_CONCURRENCY (default 50), BENCH_TRADES_PER_EVENT (default 4).
 */
import { acquireRuntime } from '../dev/runtime/runtime.ts';
import { MarketStore } from '../shared/cassandra/market-store.ts';
import type { Trade } from '../shared/contract/types.ts';
import { sumsByMinute } from '../shared/market/aggregate.ts';
import { envNumber } from './env.ts';
import { benchKeyspace } from './keyspace.ts';

async function timed(total: number, concurrency: number, op: (i: number) => Promise<void>) {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const s = performance.now();
        await op(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number) => Math.round(lat[Math.floor(p * (lat.length - 1))]! * 10) / 10;
  return { eventsPerS: Math.round(total / seconds), p50Ms: q(0.5), p99Ms: q(0.99) };
}

export async function run(): Promise<Record<string, unknown>> {
  const events = envNumber('BENCH_STORE_EVENTS', 5000, { min: 1 });
  const concurrency = envNumber('BENCH_STORE_CONCURRENCY', 50, { min: 1 });
  const perEvent = envNumber('BENCH_TRADES_PER_EVENT', 4, { min: 1 });
  const runtime = await acquireRuntime({ log: (l) => console.log(`[runtime] ${l}`) });
  const { client, drop } = await benchKeyspace(runtime, 'bench_store');
  try {
    const store = new MarketStore(client, { tradeTtlS: 3600, appliedEventTtlS: 3600 });
    const t0 = Date.now();
    const trades = (i: number): Trade[] =>
      Array.from({ length: perEvent }, (_, k) => ({
        s: `SYM${i % 4}`,
        p: 100 + k,
        t: t0 + i,
        v: 1,
        c: null,
      }));
    const result: Record<string, unknown> = { events, concurrency, tradesPerEvent: perEvent };
    for (const mode of ['batch', 'concurrent'] as const) {
      const r = await timed(events, concurrency, (i) =>
        store.writeTrades(`E${mode}${i}`, trades(i), t0, mode),
      );
      result[`trade-writer ${mode}`] = { ...r, tradesPerS: r.eventsPerS * perEvent };
    }
    const w = await timed(events, concurrency, async (i) => {
      if (await store.claimEvent(`W${i}`))
        await store.addCounters(`SYM${i % 4}`, sumsByMinute(trades(i)), true);
    });
    result['minute-window claim+counters'] = { ...w, tradesPerS: w.eventsPerS * perEvent };
    const c = await timed(events, concurrency, (i) =>
      store.addCounters(`SYM${i % 4}`, sumsByMinute(trades(i)), true),
    );
    result['counters only (no claim)'] = { ...c, tradesPerS: c.eventsPerS * perEvent };
    console.table(result);
    return result;
  } finally {
    await drop();
    if (runtime.owned) await runtime.stop();
  }
}
