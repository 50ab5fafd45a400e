/**
 * What each kind of write a trade causes costs Cassandra, one kind at a time, in CPU-ms per 1,000 trades
 * (issue 14: measure before deciding). Shapes, for events of BENCH_COST_TRADES trades (default 3 and 25):
 *   rows-004     trade-writer's rows today (MarketStore.writeTrades: trades_10s + price_seconds)
 *   rows-001     the rows before migration 004 (trades by hour with a non-frozen list, + a tick row per trade)
 *   mark-counter trade-writer's `writes` change mark (one counter update per event)
 *   mark-cell    the same mark as a plain cell (what a non-counter mark would cost)
 *   claim        minute-window's LWT claim per event
 *   counters     minute-window's counter update per event
 * Each shape runs BENCH_COST_SECONDS (default 8) at BENCH_COST_CONCURRENCY events in flight (default 32); the
 * shapes are interleaved over BENCH_COST_ROUNDS rounds (default 2) so a noisy machine hits all of them alike,
 * and each shape's figure is its median over the rounds. Background work (flushes, compaction) lands in
 * whichever shape runs when it happens: compare shapes, not single decimals.
 */
import { acquireRuntime } from '../dev/runtime/runtime.ts';
import { MarketStore } from '../shared/cassandra/market-store.ts';
import type { Trade } from '../shared/contract/types.ts';
import { sumsByMinute } from '../shared/market/aggregate.ts';
import { hourOf, minuteOf } from '../shared/market/time.ts';
import { envNumber, envNumbers } from './env.ts';
import { benchKeyspace } from './keyspace.ts';
import { cpuMeter, noteMachineLoad, runtimePids } from './proc-cpu.ts';
import { syntheticEvents } from './synthetic.ts';

const idem = { prepare: true, isIdempotent: true } as const;

export async function run(): Promise<Record<string, unknown>> {
  const sizes = envNumbers('BENCH_COST_TRADES', [3, 25], { min: 1 });
  const seconds = envNumber('BENCH_COST_SECONDS', 8, { min: 1 });
  const concurrency = envNumber('BENCH_COST_CONCURRENCY', 32, { min: 1 });
  const rounds = envNumber('BENCH_COST_ROUNDS', 2, { min: 1 });
  noteMachineLoad('cost');
  const runtime = await acquireRuntime({ log: (l) => console.log(`[runtime] ${l}`) });
  const pid = runtimePids(runtime).cassandra;
  if (pid === undefined) throw new Error('cost: Cassandra process not found (remote?)');
  const { client, drop } = await benchKeyspace(runtime, 'bench_cost');
  try {
    await client.execute(
      'CREATE TABLE IF NOT EXISTS mark_cells (symbol text, minute timestamp, mark timeuuid, PRIMARY KEY ((symbol), minute))',
    );
    const store = new MarketStore(client, { tradeTtlS: 3600, appliedEventTtlS: 3600 });
    const event = syntheticEvents('C', 1000);
    const legacyRows = async (id: string, trades: Trade[]) => {
      const rows = trades.map((t, i) => ({
        query:
          'INSERT INTO trades (symbol, hour, trade_time, event_id, idx, price, volume, conditions, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL 3600',
        params: [t.s, new Date(hourOf(t.t)), new Date(t.t), id, i, t.p, t.v, t.c, new Date()],
      }));
      const ticks = trades.map((t, i) => ({
        query:
          'INSERT INTO ticks (symbol, trade_time, event_id, idx, price, volume) VALUES (?, ?, ?, ?, ?, ?)',
        params: [t.s, new Date(t.t), id, i, t.p, t.v],
      }));
      const send = (qs: typeof rows) =>
        qs.length === 1
          ? client.execute(qs[0]!.query, qs[0]!.params, idem)
          : client.batch(qs, { ...idem, logged: false });
      await Promise.all([send(rows), send(ticks)]);
    };
    type Shape = (id: string, trades: Trade[]) => Promise<unknown>;
    const shapes: Record<string, Shape> = {
      'rows-004': (id, trades) => store.writeTrades(id, trades, Date.now(), 'batch'),
      'rows-001': legacyRows,
      'mark-counter': (_id, trades) => store.bumpWrites(trades[0]!.s, [minuteOf(trades[0]!.t)]),
      'mark-cell': (_id, trades) =>
        client.execute(
          'UPDATE mark_cells SET mark = now() WHERE symbol = ? AND minute = ?',
          [trades[0]!.s, new Date(minuteOf(trades[0]!.t))],
          idem,
        ),
      claim: (id) => store.claimEvent(id),
      counters: (_id, trades) => store.addCounters(trades[0]!.s, sumsByMinute(trades), true),
    };
    const samples: Record<string, number[]> = {};
    const rates: Record<string, number[]> = {};
    for (let round = 0; round < rounds; round += 1) {
      for (const size of sizes) {
        for (const [name, shape] of Object.entries(shapes)) {
          const label = `${name} x${size}`;
          const meter = cpuMeter({ cassandra: pid });
          meter.start();
          let trades = 0;
          const t0 = performance.now();
          const deadline = t0 + seconds * 1000;
          await Promise.all(
            Array.from({ length: concurrency }, async () => {
              while (performance.now() < deadline) {
                const ev = event(size);
                await shape(ev.id, ev.trades);
                trades += size;
              }
            }),
          );
          const cpu = meter.stop(trades).cassandra!;
          samples[label] = [...(samples[label] ?? []), cpu.msPer1000Trades];
          rates[label] = [...(rates[label] ?? []), Math.round((trades / (performance.now() - t0)) * 1000)];
          console.log(
            `[bench] cost round ${round + 1} ${label}: ${cpu.msPer1000Trades} CPU-ms/1000 trades, ${cpu.percentOfCore} % of a core, ${rates[label]!.at(-1)} trades/s`,
          );
        }
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const result: Record<string, unknown> = { seconds, concurrency, rounds, pid };
    for (const [label, xs] of Object.entries(samples)) {
      result[label] = {
        cassandraMsPer1000Trades: median(xs),
        tradesPerS: median(rates[label]!),
        samples: xs,
      };
    }
    console.log('[bench] cost (median CPU-ms of Cassandra per 1,000 trades):');
    for (const [label, r] of Object.entries(result)) {
      if (typeof r === 'object') console.log(`  ${label.padEnd(18)} ${JSON.stringify(r)}`);
    }
    return result;
  } finally {
    await drop();
  }
}
