/**
 * The floor: the most trades per second this Cassandra takes on this machine when it is given exactly the
 * writes the functions make per trade, with no Kafka and no HTTP in the way. Each event goes through the
 * functions' own handlers (trade-writer: trade rows in `trades_10s`, the last trade of each second in
 * `price_seconds`, the minute `writes` mark; minute-window: the lightweight-transaction claim and the counter
 * batch) with the functions' MarketStore, so the floor follows the schema and the handlers when they
 * change. What the floor is free to choose is how trades are grouped (trades per event: one symbol's trades,
 * as the bridge groups them) and how many events are in flight; it sweeps both and keeps the best.
 *
 * Prints, per setting, trades/s, event latency and the CPU Cassandra and the bench itself used per 1,000
 * trades. The sweep's best setting is then held for as long as a pipeline phase is measured, and what it
 * holds is the floor: a 10 s setting can fall between memtable flushes, a 60 s phase cannot (see
 * `floorSettingsFromEnv`). At the end the live counters must add up to the trades written.
 * Env: BENCH_PROFILE (default finnhub4), BENCH_FLOOR_SECONDS per setting (default 10),
 * BENCH_FLOOR_SWEEP (default DEFAULT_FLOOR_SWEEP: trades per event x events in flight, from 3, the bridge's
 * events without coalescing, to 2,000, what its longest window gathers of a busy symbol),
 * BENCH_FLOOR_WARMUP_S (default 90: unmeasured, spread over every setting, see `warmupPlan`),
 * BENCH_FLOOR_HOLD_S (default 60; 0 takes the sweep's best as the floor).
 */
import type cassandra from 'cassandra-driver';
import { Market } from '../dev/replay-feed/market.ts';
import { type LoadProfile, loadProfile } from '../dev/replay-feed/profiles.ts';
import { acquireRuntime } from '../dev/runtime/runtime.ts';
import { minuteWindow } from '../functions/minute-window/handler.ts';
import { TRADE_WRITER_METRICS, tradeWriter } from '../functions/trade-writer/handler.ts';
import { MarketStore } from '../shared/cassandra/market-store.ts';
import type { Trade, TradeBatchEvent } from '../shared/contract/types.ts';
import { loadMarketConfig } from '../shared/market/config.ts';
import { MINUTE_MS, minuteOf } from '../shared/market/time.ts';
import { createLogger } from '../shared/observability/logger.ts';
import { createRegistry, registerMetrics } from '../shared/observability/metrics.ts';
import { envNumber } from './env.ts';
import { benchKeyspace } from './keyspace.ts';
import { cpuMeter, noteMachineLoad, runtimePids } from './proc-cpu.ts';

export interface FloorSetting {
  readonly tradesPerEvent: number;
  readonly concurrency: number;
}

export interface FloorRow extends FloorSetting {
  tradesPerS: number;
  eventsPerS: number;
  eventP50Ms: number;
  eventP99Ms: number;
  cassandraCpuPercent: number;
  cassandraMsPer1000Trades: number;
  benchMsPer1000Trades: number;
}

export interface FloorResult {
  profile: string;
  secondsPerSetting: number;
  /** Unmeasured seconds over every setting before the sweep. */
  warmupS: number;
  settings: FloorRow[];
  /** The sweep's best setting over its `secondsPerSetting`: a burst rate. */
  sweepBest: FloorRow;
  /** Seconds the sweep's best setting was held for `best`; 0 when it was not held. */
  holdS: number;
  /** The floor every ratio is taken to: the sweep's best setting held for `holdS` (the sweep's best if 0). */
  best: FloorRow;
  /**
   * Trades written over the whole sweep and what the live counters hold: equal, or the floor is void. Every
   * event id is new, so minute-window must have found no duplicate and no late trade; when the counters do not
   * match, these say whether the claim refused an event or the counter writes themselves lost it.
   */
  check: { written: number; counted: number; ok: boolean; duplicateEvents: number; lateTrades: number };
}

/**
 * Up to 2,000 trades per event: with the bridge's 200 ms window the pipeline sends 800-2,300 trades per event
 * from 20,000 trades/s on, and a floor swept only to 400 would hold Cassandra to smaller batches than the
 * pipeline gets (2026-12-03, 08:14: 400 x 8 took 66,581 trades/s, 1,000 x 4 held 88,916).
 */
export const DEFAULT_FLOOR_SWEEP = '3x64,25x16,25x64,100x16,100x64,400x8,400x32,1000x4,2000x2';

/**
 * The floor's settings from the environment. The warm-up matters as much as the sweep: a Cassandra that has
 * just started still compiles its write paths (C2), and a floor measured then came out at 29,000–40,000
 * trades/s where the same sweep on the warm JVM a minute later took 54,000 (2026-12-02, 00:17 and 00:18).
 * The pipeline's phases run after their own 120 s warm-up, so a cold floor would flatter every ratio.
 */
export function floorSettingsFromEnv(env: NodeJS.ProcessEnv = process.env) {
  return {
    seconds: envNumber('BENCH_FLOOR_SECONDS', 10, { min: 1 }, env),
    sweep: parseSweep(env.BENCH_FLOOR_SWEEP ?? DEFAULT_FLOOR_SWEEP),
    warmupS: envNumber('BENCH_FLOOR_WARMUP_S', 90, { min: 0 }, env),
    // The pipeline's rate is what it holds for a 60 s phase with its flushes and compactions. The sweep's
    // 10 s settings are bursts: the two warm floors of 2026-12-02 (37,516 and 44,770 trades/s, same
    // setting) differed by where their 10 s fell among flushes. So the floor is held as long as a phase.
    holdS: envNumber('BENCH_FLOOR_HOLD_S', 60, { min: 0 }, env),
  };
}

/**
 * The unmeasured warm-up: every setting in turn, so each write path (small events' claims and counters, big
 * events' batches) is compiled and every setting is measured on the same warm JVM. At least 1 s each.
 */
export function warmupPlan(
  sweep: readonly FloorSetting[],
  warmupS: number,
): { setting: FloorSetting; seconds: number }[] {
  const each = Math.max(1, warmupS / sweep.length);
  return sweep.map((setting) => ({ setting, seconds: each }));
}

/** `"3x64,25x16"` → settings; throws on anything else. */
export function parseSweep(text: string): FloorSetting[] {
  return text.split(',').map((part) => {
    const m = /^\s*(\d+)\s*x\s*(\d+)\s*$/.exec(part);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
      throw new Error(`BENCH_FLOOR_SWEEP: expected <trades per event>x<events in flight>, got "${part}"`);
    return { tradesPerEvent: Number(m[1]), concurrency: Number(m[2]) };
  });
}

/**
 * One symbol's trades in events of `size`, from the profile's market: frames are split by symbol as the
 * bridge does, and a symbol's trades wait until there are `size` of them (the hot symbol fills fastest).
 */
export function eventSource(profile: LoadProfile, seed: number) {
  const market = new Market({ ...profile.market, seed });
  const pending = new Map<string, Trade[]>();
  const ready: Trade[][] = [];
  return (size: number, nowMs: number): Trade[] => {
    while (ready.length === 0) {
      for (const frame of market.frames(nowMs, Math.max(size, 50), profile.symbols)) {
        for (const t of frame.data) {
          const list = pending.get(t.s) ?? [];
          list.push(t);
          if (list.length >= size) {
            ready.push(list);
            pending.delete(t.s);
          } else pending.set(t.s, list);
        }
      }
    }
    return ready.shift()!;
  };
}

const quiet = createLogger('bench-floor', { level: 'warn' });

/**
 * The minutes the floor's census reads, [from, to): from the minute of the earliest trade written, not of the
 * start, since the feed's out-of-order trades are up to half a second older than the clock at their event
 * (a start just after a minute boundary put two trades in the minute before, and the census called them lost).
 */
export function censusMinutes(earliestTradeMs: number, nowMs: number): [number, number] {
  return [minuteOf(earliestTradeMs), minuteOf(nowMs) + MINUTE_MS];
}

export async function runFloor(opts: {
  client: cassandra.Client;
  cassandraPid: number | undefined;
  profile: LoadProfile;
  seconds: number;
  sweep: readonly FloorSetting[];
  warmupS: number;
  holdS: number;
  log?: (line: string) => void;
}): Promise<FloorResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const market = loadMarketConfig({});
  const store = new MarketStore(opts.client, market);
  const registry = createRegistry();
  const window = { finalizeHorizonS: market.finalizeHorizonS, finalizeLatenessS: market.finalizeLatenessS };
  const writer = tradeWriter({
    store,
    mode: 'batch',
    ...window,
    metrics: registerMetrics(registry, TRADE_WRITER_METRICS),
  });
  const windowMetrics = registerMetrics(registry, ['lateTrades', 'windowDuplicates', 'replayedEvents']);
  const counter = minuteWindow({ store, ...window, metrics: windowMetrics });
  const next = eventSource(opts.profile, 7);
  const runId = Date.now().toString(36);
  let earliestTrade = Number.POSITIVE_INFINITY;
  let eventNo = 0;
  let written = 0;
  const ctx = { log: quiet };

  const drive = async (s: FloorSetting, seconds: number) => {
    const lat: number[] = [];
    let trades = 0;
    const deadline = performance.now() + seconds * 1000;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: s.concurrency }, async () => {
        while (performance.now() < deadline) {
          const now = Date.now();
          const batch = next(s.tradesPerEvent, now);
          for (const t of batch) earliestTrade = Math.min(earliestTrade, t.t);
          const ev = {
            id: `floor-${runId}-${eventNo++}`,
            source: 'bench/floor',
            type: 'bench.floor',
            subject: batch[0]!.s,
            time: new Date(batch[0]!.t).toISOString(),
            dataschema: '',
            datacontenttype: '',
            receivedms: now,
            trades: batch,
            indices: batch.map((_t, i) => i),
            rejects: {},
            fixes: {},
            data: Buffer.alloc(0),
            extensions: {},
          } satisfies TradeBatchEvent;
          const began = performance.now();
          await Promise.all([writer.handle(ev, ctx), counter.handle(ev, ctx)]);
          lat.push(performance.now() - began);
          trades += batch.length;
        }
      }),
    );
    written += trades;
    lat.sort((a, b) => a - b);
    const q = (p: number) => Math.round((lat[Math.floor(p * (lat.length - 1))] ?? Number.NaN) * 10) / 10;
    return {
      trades,
      events: lat.length,
      seconds: (performance.now() - t0) / 1000,
      p50: q(0.5),
      p99: q(0.99),
    };
  };

  const pids: Record<string, number> = { bench: process.pid };
  if (opts.cassandraPid !== undefined) pids.cassandra = opts.cassandraPid;
  log(
    `[bench] floor: profile ${opts.profile.name}, ${opts.seconds} s per setting, warming up ${opts.warmupS} s over every setting`,
  );
  for (const w of warmupPlan(opts.sweep, opts.warmupS)) await drive(w.setting, w.seconds);
  const measure = async (s: FloorSetting, seconds: number): Promise<FloorRow> => {
    const meter = cpuMeter(pids);
    meter.start();
    const r = await drive(s, seconds);
    const cpu = meter.stop(r.trades);
    return {
      ...s,
      tradesPerS: Math.round(r.trades / r.seconds),
      eventsPerS: Math.round(r.events / r.seconds),
      eventP50Ms: r.p50,
      eventP99Ms: r.p99,
      cassandraCpuPercent: cpu.cassandra?.percentOfCore ?? Number.NaN,
      cassandraMsPer1000Trades: cpu.cassandra?.msPer1000Trades ?? Number.NaN,
      benchMsPer1000Trades: cpu.bench!.msPer1000Trades,
    };
  };
  const rows: FloorRow[] = [];
  for (const s of opts.sweep) {
    const row = await measure(s, opts.seconds);
    rows.push(row);
    log(
      `[bench] floor ${s.tradesPerEvent} trades/event x ${s.concurrency} in flight: ${JSON.stringify(row)}`,
    );
  }
  const sweepBest = rows.reduce((a, b) => (b.tradesPerS > a.tradesPerS ? b : a));
  let best = sweepBest;
  if (opts.holdS > 0) {
    best = await measure(sweepBest, opts.holdS);
    log(`[bench] floor held ${opts.holdS} s at the sweep's best setting: ${JSON.stringify(best)}`);
  }

  let counted = 0;
  for (const symbol of opts.profile.symbols) {
    for (const r of await store.liveRange(symbol, ...censusMinutes(earliestTrade, Date.now()))) {
      counted += Number(r.trades);
    }
  }
  const total = async (m: { get(): Promise<{ values: { value: number }[] }> }) =>
    (await m.get()).values.reduce((a, v) => a + v.value, 0);
  const check = {
    written,
    counted,
    ok: written === counted,
    duplicateEvents: await total(windowMetrics.windowDuplicates),
    lateTrades: await total(windowMetrics.lateTrades),
  };
  if (!check.ok) {
    log(
      `\n[bench] !!! FLOOR COUNT MISMATCH: wrote ${written} trades, the live counters hold ${counted} (${counted - written}); minute-window refused ${check.duplicateEvents} events as duplicates and ${check.lateTrades} trades as late !!!\n`,
    );
  }
  return {
    profile: opts.profile.name,
    secondsPerSetting: opts.seconds,
    warmupS: opts.warmupS,
    settings: rows,
    sweepBest,
    holdS: opts.holdS,
    best,
    check,
  };
}

export function printFloor(f: FloorResult): void {
  console.log(
    `\n[bench] floor (profile ${f.profile}; ${f.warmupS} s warm-up, then ${f.secondsPerSetting} s per setting, best marked *)`,
  );
  console.table(
    f.settings.map((r) => ({
      'trades/event': r.tradesPerEvent,
      'in flight': r.concurrency,
      'trades/s': r.tradesPerS,
      'event p50 ms': r.eventP50Ms,
      'event p99 ms': r.eventP99Ms,
      'cassandra %core': r.cassandraCpuPercent,
      'cassandra cpu-ms/1k trades': r.cassandraMsPer1000Trades,
      'bench cpu-ms/1k trades': r.benchMsPer1000Trades,
      best: r === f.sweepBest ? '*' : '',
    })),
  );
  const held =
    f.holdS > 0
      ? `held ${f.holdS} s (the sweep's best over ${f.secondsPerSetting} s: ${f.sweepBest.tradesPerS})`
      : `the sweep's best over ${f.secondsPerSetting} s, not held`;
  console.log(
    `[bench] floor = ${f.best.tradesPerS} trades/s, ${held}; ${f.best.tradesPerEvent} trades/event, ${f.best.concurrency} in flight, Cassandra ${f.best.cassandraMsPer1000Trades} CPU-ms per 1,000 trades; counters ${f.check.ok ? 'match' : 'DO NOT MATCH'} the ${f.check.written} trades written`,
  );
}

/** `npm run bench -- floor`: the floor on its own keyspace of the runtime. */
export async function run(): Promise<FloorResult & Record<string, unknown>> {
  const profile = loadProfile(process.env.BENCH_PROFILE ?? 'finnhub4');
  const settings = floorSettingsFromEnv();
  noteMachineLoad('floor');
  const runtime = await acquireRuntime({ log: (l) => console.log(`[runtime] ${l}`) });
  const { client, drop } = await benchKeyspace(runtime, 'bench_floor');
  try {
    const pids = runtimePids(runtime);
    if (pids.cassandra === undefined)
      console.log('[bench] floor: no local Cassandra pid found (remote runtime?): its CPU is not measured');
    const result = await runFloor({ client, cassandraPid: pids.cassandra, profile, ...settings });
    printFloor(result);
    return { ...result };
  } finally {
    await drop();
    if (runtime.owned) await runtime.stop();
  }
}
