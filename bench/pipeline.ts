/**
 * The whole local pipeline at fixed offered rates: replay feed (own process, a load profile) -> bridge ->
 * Kafka -> dispatcher -> functions -> Cassandra, measured against the floor (floor.ts) of the same run.
 *
 * For each rate it prints the sustained stored/counted trades per second (also as a ratio to the floor), the
 * latency from bridge receive to trade row written (exact per row: the row's write time minus its
 * received_at) and to counter updated (minute-window's mp_pipeline_latency_seconds histogram), the consumer
 * lag left at the end, each process's CPU (percent of one core during the phase) and its CPU-milliseconds per
 * 1,000 trades (the phase and its drain, over the trades the feed sent in the phase, so every process has
 * handled exactly those trades), and an exact check: trade rows stored and trades counted in the live
 * counters against what the feed sent, at every rate.
 * Env: BENCH_PROFILE (flat | finnhub4 | finnhub50; default finnhub4), BENCH_RATES (default 1000,2500,5000;
 * an item such as `60%` is that share of this run's floor, rates.ts), BENCH_SECONDS per rate (default 30),
 * BENCH_DRAIN_S most seconds to wait for a phase to drain (default 180), BENCH_WARMUP_S / BENCH_WARMUP_RATE
 * the unmeasured warm-up (default 120 s at the highest rate),
 * BENCH_PREROLL_S the unmeasured lead-in of every phase at its rate (default 20), BENCH_FLOOR=0 to skip the
 * floor (ratios are then blank); the floor's own settings: see floor.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeManifestCopy } from '../dev/pipeline/manifests.ts';
import { LOCAL_TOPIC_PARTITIONS, startStack } from '../dev/pipeline/stack.ts';
import { loadProfile } from '../dev/replay-feed/profiles.ts';
import { acquireRuntime } from '../dev/runtime/runtime.ts';
import { histogramQuantile } from '../dev/viewer/health.ts';
import { bucketsOf, parsePromText, type Sample } from '../dev/viewer/prom-text.ts';
import { allRows } from '../shared/cassandra/client.ts';
import { MarketStore } from '../shared/cassandra/market-store.ts';
import { createKafkaClient } from '../shared/kafka/index.ts';
import { loadMarketConfig } from '../shared/market/config.ts';
import { TRADE_BUCKET_MS, tradeBucketOf } from '../shared/market/time.ts';
import { createLogger } from '../shared/observability/logger.ts';
import { watchPools } from './cassandra-work.ts';
import { tradeCensus } from './census.ts';
import { envList, envNumber } from './env.ts';
import { startFeedProcess } from './feed-process.ts';
import { type FloorResult, floorSettingsFromEnv, printFloor, runFloor } from './floor.ts';
import { benchKeyspace } from './keyspace.ts';
import { type Scrapes, stageQuantiles } from './latency.ts';
import { cpuMeter, noteMachineLoad, ratio, runtimePids } from './proc-cpu.ts';
import { parseRate, rateLabel, resolveRates } from './rates.ts';
import { RowLatencies } from './row-latencies.ts';
import { isDrained, KEPT_UP_SHARE, keptUp, type PhaseRates, sustainedRate } from './sustained.ts';
import { fileStamp, keepLogs, RESULTS_DIR } from './work-dir.ts';

const quiet = createLogger('bench', { level: 'warn' });

/** One rate's printed result: the rates `sustained.ts` judges, and the rest of the figures. */
type Phase = PhaseRates & Record<string, unknown>;

async function scrape(url: string) {
  return parsePromText(await fetch(`${url}/metrics`).then((r) => r.text()));
}

const counter = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);

/** The processes whose CPU is measured, in the order they are printed. */
const PROCESSES = [
  'replay-feed',
  'bridge',
  'kafka',
  'dispatcher',
  'trade-writer',
  'minute-window',
  'minute-finalizer',
  'cassandra',
] as const;

export async function run(
  earlier: Readonly<Record<string, Record<string, unknown>>> = {},
): Promise<Record<string, unknown>> {
  const profile = loadProfile(process.env.BENCH_PROFILE ?? 'finnhub4');
  const rateSpecs = envList(
    'BENCH_RATES',
    parseRate,
    [1000, 2500, 5000].map((tradesPerS) => ({ tradesPerS })),
  );
  const seconds = envNumber('BENCH_SECONDS', 30, { min: 1 });
  const drainS = envNumber('BENCH_DRAIN_S', 180, { min: 0 });
  const warmupS = envNumber('BENCH_WARMUP_S', 120, { min: 0 });
  const prerollS = envNumber('BENCH_PREROLL_S', 20, { min: 0 });
  const slowMs = envNumber('BENCH_SLOW_MS', 250, { min: 0 });
  console.log(
    `[bench] pipeline: profile ${profile.name} (${profile.description}); rates ${rateSpecs.map(rateLabel).join(', ')} (trades/s, % of the floor), ${seconds} s each`,
  );
  // A share of the floor in a run without one fails here, not after the runtime has started.
  if (process.env.BENCH_FLOOR === '0' && !earlier.floor) resolveRates(rateSpecs, undefined);
  noteMachineLoad('pipeline');

  const runtime = await acquireRuntime({ log: (l) => console.log(`[runtime] ${l}`) });
  const jvms = runtimePids(runtime);
  for (const s of ['kafka', 'cassandra'] as const)
    if (jvms[s] === undefined) console.log(`[bench] no local ${s} pid found (remote runtime?): not measured`);

  let floor = earlier.floor as FloorResult | undefined;
  if (!floor && process.env.BENCH_FLOOR !== '0') {
    const f = await benchKeyspace(runtime, 'bench_floor');
    try {
      floor = await runFloor({
        client: f.client,
        cassandraPid: jvms.cassandra,
        profile,
        ...floorSettingsFromEnv(),
      });
      printFloor(floor);
    } finally {
      await f.drop();
    }
  }

  const rates = resolveRates(rateSpecs, floor?.best.tradesPerS);
  if (rateSpecs.some((r) => 'floorPercent' in r))
    console.log(`[bench] pipeline: rates ${rates.join(', ')}/s (shares of the floor rounded up to 100/s)`);
  const warmupRate = envNumber('BENCH_WARMUP_RATE', Math.max(...rates), { min: 1 });

  const { keyspace, client: cassandra, drop } = await benchKeyspace(runtime, 'bench');
  const store = new MarketStore(cassandra, loadMarketConfig({}));
  const topic = `bench-${Date.now().toString(36)}`;
  const stamp = fileStamp(new Date());
  const work = mkdtempSync(join(tmpdir(), 'mp-bench-'));
  const kafka = createKafkaClient({ brokers: runtime.kafka.brokers, clientId: 'bench', logger: quiet });
  const admin = await kafka.admin();
  await admin.ensureTopic(topic, LOCAL_TOPIC_PARTITIONS);
  await admin.ensureTopic(`${topic}-dlq`, 1);

  const feed = await startFeedProcess({ profile: profile.name, seed: 7, pingMs: 10_000 });
  const feedStarted = Date.now();
  const census = tradeCensus(store, profile.symbols, feedStarted - 60_000);
  const phases: Phase[] = [];
  let stack: Awaited<ReturnType<typeof startStack>> | undefined;
  try {
    stack = await startStack({
      kafkaBrokers: runtime.kafka.brokers,
      cassandraContactPoints: runtime.cassandra.contactPoints,
      cassandraLocalDataCenter: runtime.cassandra.localDataCenter,
      keyspace,
      topic,
      manifests: writeManifestCopy(join(work, 'manifests'), {
        topic,
        deadLetterTopic: `${topic}-dlq`,
        groupSuffix: keyspace,
      }),
      workDir: work,
      feedUrl: feed.url,
      only: ['trade-writer', 'minute-window', 'minute-finalizer', 'dispatcher', 'bridge'],
      env: { FINNHUB_SYMBOLS: profile.symbols.join(','), LOG_LEVEL: 'warn' },
      serviceEnv: { dispatcher: { DISPATCHER_PING_SCHEDULE: 'false' } },
    });
    const urls = stack.urls;
    const pids: Record<string, number> = { 'replay-feed': feed.pid, ...jvms };
    for (const [name, s] of stack.services) pids[name] = s.pid!;

    const tradesOf = (w: Scrapes[string], c: Scrapes[string]) => ({
      stored: counter(w, 'mp_function_trades_total'),
      counted: counter(c, 'mp_function_trades_total'),
      window: c,
    });
    const fnTrades = async () =>
      tradesOf(...(await Promise.all([scrape(urls['trade-writer']), scrape(urls['minute-window'])])));
    /** Events (Kafka records) the bridge had acknowledged, and their trades: events/s and trades per event. */
    const bridgeEvents = async () => {
      const b = await scrape(urls.bridge);
      return {
        events: counter(b, 'mp_bridge_records_acked_total'),
        trades: counter(b, 'mp_bridge_trades_acked_total'),
      };
    };
    const lagOf = async () => {
      const d = await scrape(urls.dispatcher);
      return Object.fromEntries(
        ['trades', 'windows'].map((src) => [
          src,
          counter(d, 'mp_dispatcher_consumer_lag_records', { source: src }),
        ]),
      );
    };
    const scrapeAll = async (): Promise<Scrapes> => {
      const names = ['bridge', 'dispatcher', 'trade-writer', 'minute-window'] as const;
      const all = await Promise.all(names.map((n) => scrape(urls[n])));
      return Object.fromEntries(names.map((n, i) => [n, all[i]!]));
    };
    /** Waits until the functions have handled every trade sent so far and no lag is left (or the timeout). */
    const drain = async () => {
      const sent = (await feed.stats()).tradesSent ?? 0;
      const deadline = Date.now() + drainS * 1000;
      while (Date.now() < deadline) {
        const f = await fnTrades();
        if (isDrained(sent, f.stored, await lagOf())) return true;
        await sleep(1000);
      }
      return false;
    };

    // Warm-up, not measured: JIT, connection pools, Cassandra memtables. The JVMs' C2 compilers take a
    // large share of the two cores for minutes after a start (Cassandra's ~15,000 compilations), so a short
    // warm-up measures the compiler, not the pipeline a long-lived deployment runs.
    const warmMeter = cpuMeter(pids);
    warmMeter.start();
    const warmSent0 = (await feed.stats()).tradesSent ?? 0;
    feed.setRate(warmupRate);
    await sleep(warmupS * 1000);
    feed.setRate(0);
    const warm = warmMeter.stop(((await feed.stats()).tradesSent ?? 0) - warmSent0);
    console.log(
      `[bench] warm-up ${warmupS} s at ${warmupRate}/s: CPU % of a core ${JSON.stringify(Object.fromEntries(Object.entries(warm).map(([n, c]) => [n, c.percentOfCore])))}`,
    );
    let lastDrained = await drain();
    let checked = await census(Date.now(), feedStarted - 60_000);
    const sentBefore = (await feed.stats()).tradesSent ?? 0;
    let sentChecked = sentBefore;
    if (checked.stored !== sentBefore || checked.counted !== sentBefore)
      console.log(
        `[bench] !!! after the warm-up: feed sent ${sentBefore}, stored ${checked.stored}, counted ${checked.counted} !!!`,
      );

    for (const rate of rates) {
      // Unmeasured pre-roll at the phase's rate: the pipeline reaches that rate's steady state (queues,
      // coalesced event sizes), and what the bench's own read-back just cost (the JVMs compiling read paths,
      // a GC) is over before measuring starts.
      feed.setRate(rate);
      await sleep(prerollS * 1000);
      const phaseMeter = cpuMeter(pids);
      const costMeter = cpuMeter(pids);
      const stages0 = await scrapeAll();
      const before = tradesOf(stages0['trade-writer']!, stages0['minute-window']!);
      const ev0 = await bridgeEvents();
      const sent0 = (await feed.stats()).tradesSent ?? 0;
      phaseMeter.start();
      costMeter.start();
      const poolWatch = watchPools(cassandra);
      const t0 = Date.now();
      await sleep(seconds * 1000);
      feed.setRate(0);
      const t1 = Date.now();
      const sent = ((await feed.stats()).tradesSent ?? 0) - sent0;
      const after = await fnTrades();
      const busy = phaseMeter.stop(sent);
      const cassandraWork = await poolWatch.stop();
      const lagAtEnd = await lagOf();
      const elapsedS = (t1 - t0) / 1000;
      const drained = await drain();
      const cost = costMeter.stop(sent);
      const stages = stageQuantiles(stages0, await scrapeAll());
      const ev1 = await bridgeEvents();
      const events = ev1.events - ev0.events;

      // Exact: every trade the feed sent so far is a row and is in the counters.
      // Minutes that ended before this phase are final if the last phase drained: read once.
      const now = await census(Date.now(), lastDrained ? t0 - 1000 : feedStarted - 60_000);
      lastDrained = drained;
      const sentTotal = (await feed.stats()).tradesSent ?? 0;
      const exact = {
        sent: sentTotal - sentChecked,
        stored: now.stored - checked.stored,
        counted: now.counted - checked.counted,
        ok: false,
      };
      exact.ok = exact.stored === exact.sent && exact.counted === exact.sent;
      checked = now;
      sentChecked = sentTotal;
      if (!exact.ok || !drained) {
        console.log(
          `\n[bench] !!! COUNT MISMATCH @ ${rate}/s: feed sent ${exact.sent} trades, ${exact.stored} stored (${exact.stored - exact.sent}), ${exact.counted} counted (${exact.counted - exact.sent})${drained ? '' : `; not drained after ${drainS} s`} !!!\n`,
        );
      }

      // Receive -> row latency of the rows received in this phase (every row up to the sample's cap).
      // The issue's row goal at this rate: p99 50 ms up to 1,000 trades/s, 250 ms above.
      const rowLat = new RowLatencies({ slowMs, overMs: rate <= 1000 ? 50 : 250 });
      for (const symbol of profile.symbols) {
        for (let b = tradeBucketOf(t0 - 60_000); b <= t1; b += TRADE_BUCKET_MS) {
          const { rows } = await allRows(
            cassandra,
            `SELECT received_at, event_id, WRITETIME(price) AS w FROM "${keyspace}".trades_10s WHERE symbol = ? AND bucket = ? AND trade_time >= ? AND trade_time < ?`,
            [symbol, new Date(b), new Date(t0), new Date(t1)],
            { prepare: true, fetchSize: 10_000 },
          );
          for (const r of rows) {
            if (!r.received_at) continue;
            const at = (r.received_at as Date).getTime();
            rowLat.add(at, Number(r.w) / 1000 - at, r.event_id as string);
          }
        }
      }
      const windowHist = new Map<number, number>();
      const hb = bucketsOf(before.window, 'mp_pipeline_latency_seconds', { function: 'minute-window' });
      for (const [le, c] of bucketsOf(after.window, 'mp_pipeline_latency_seconds', {
        function: 'minute-window',
      })) {
        windowHist.set(le, c - (hb.get(le) ?? 0));
      }
      const storedPerS = Math.round((after.stored - before.stored) / elapsedS);
      const countedPerS = Math.round((after.counted - before.counted) / elapsedS);
      const cpuMsPer1000 = Object.fromEntries(
        PROCESSES.filter((n) => n in pids).map((n) => [n, cost[n]!.msPer1000Trades]),
      );
      const totalMsPer1000 = Math.round(Object.values(cpuMsPer1000).reduce((a, b) => a + b, 0) * 10) / 10;
      const phase = {
        offeredTradesPerS: rate,
        sentTradesPerS: Math.round(sent / elapsedS),
        storedTradesPerS: storedPerS,
        countedTradesPerS: countedPerS,
        eventsPerS: Math.round(events / elapsedS),
        tradesPerEvent: events > 0 ? Math.round(((ev1.trades - ev0.trades) / events) * 10) / 10 : Number.NaN,
        exact,
        drained,
        lagAtEndRecords: lagAtEnd,
        receiveToRowMs: rowLat.summary(),
        receiveToCounterMs: Object.fromEntries(
          [0.5, 0.95, 0.99].map((q) => [
            `p${Math.round(q * 100)}`,
            Math.round((histogramQuantile(q, windowHist) ?? Number.NaN) * 1000 * 10) / 10,
          ]),
        ),
        stagesMs: stages,
        rowLatencyTimeline: rowLat.timeline(),
        rowLatencyByEventSize: rowLat.byEventSize(),
        // Flushes and merges running during the phase, by the second: read its slowest seconds against them.
        cassandraWork,
        cpuPercentOfOneCore: Object.fromEntries(
          PROCESSES.filter((n) => n in pids).map((n) => [n, busy[n]!.percentOfCore]),
        ),
        cpuMsPer1000Trades: { ...cpuMsPer1000, total: totalMsPer1000 },
        vsFloor: floor
          ? {
              stored: ratio(storedPerS, floor.best.tradesPerS),
              counted: ratio(countedPerS, floor.best.tradesPerS),
              cassandraCpuMsPer1000: ratio(
                cpuMsPer1000.cassandra ?? Number.NaN,
                floor.best.cassandraMsPer1000Trades,
              ),
              totalCpuMsPer1000: ratio(
                totalMsPer1000,
                floor.best.cassandraMsPer1000Trades + floor.best.benchMsPer1000Trades,
              ),
            }
          : undefined,
      };
      phases.push(phase);
      console.log(`[bench] pipeline @ ${rate}/s: ${JSON.stringify(phase)}`);
      console.log(
        `[bench] where the latency goes @ ${rate}/s (p50 / p99 ms from the processes' histograms):`,
      );
      console.table(stages);
      console.log(`[bench] slowest seconds of receive -> row @ ${rate}/s:`);
      console.table(phase.rowLatencyTimeline.worst);
      console.log(
        `[bench] Cassandra's flushes and merges during the phase @ ${rate}/s: ${JSON.stringify(cassandraWork)}`,
      );
      console.log(`[bench] receive -> row @ ${rate}/s by the size of the event that carried the row:`);
      console.table(phase.rowLatencyByEventSize);
    }
  } finally {
    await stack?.stop();
    await feed.stop();
    await admin.deleteTopics([topic, `${topic}-dlq`]);
    await kafka.close();
    await drop();
    if (runtime.owned) await runtime.stop();
    const logs = keepLogs(work, join(RESULTS_DIR, `pipeline-logs-${stamp}`));
    if (logs) console.log(`[bench] pipeline: the processes' logs are in ${logs}`);
  }
  const sustained = sustainedRate(phases, floor?.best.tradesPerS);
  printPipeline(profile.name, floor, phases);
  console.log(
    `[bench] sustained: the highest offered rate kept up with, with every lower rate (stored and counted ≥ ${KEPT_UP_SHARE * 100} % of sent, drained, exact) is ${sustained.tradesPerS.toLocaleString('en')} trades/s` +
      (sustained.ofFloor === undefined ? '' : ` = ${sustained.ofFloor} of the floor`) +
      (sustained.fellBehindAt.length > 0 ? `; fell behind at ${sustained.fellBehindAt.join(', ')}/s` : ''),
  );
  return { profile: profile.name, seconds, floor, phases, sustained };
}

const r0 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '' : Math.round(x));

function printPipeline(profile: string, floor: FloorResult | undefined, phases: Phase[]) {
  const fl = floor?.best;
  console.log(
    `\n[bench] pipeline summary (profile ${profile}); floor ${fl ? `${fl.tradesPerS} trades/s, Cassandra ${fl.cassandraMsPer1000Trades} CPU-ms/1k trades` : 'not measured'}`,
  );
  console.table(
    phases.map((p) => {
      const r = p.receiveToRowMs as Record<string, number>;
      const c = p.receiveToCounterMs as Record<string, number>;
      const e = p.exact as { sent: number; stored: number; counted: number; ok: boolean };
      const v = p.vsFloor as Record<string, number> | undefined;
      return {
        offered: p.offeredTradesPerS,
        stored: p.storedTradesPerS,
        counted: p.countedTradesPerS,
        'events/s': p.eventsPerS,
        'trades/event': p.tradesPerEvent,
        'stored/floor': v?.stored ?? '',
        'counted/floor': v?.counted ?? '',
        'kept up': keptUp(p) ? 'yes' : 'NO',
        'row p50 ms': r0(r.p50),
        'row p99 ms': r0(r.p99),
        'counter p50 ms': r0(c.p50),
        'counter p99 ms': r0(c.p99),
        exact: e.ok ? `ok (${e.sent})` : `MISMATCH sent ${e.sent} stored ${e.stored} counted ${e.counted}`,
      };
    }),
  );
  console.log('[bench] CPU-ms per 1,000 trades, per process (phase + drain; floor: the floor run)');
  const rows: Record<string, Record<string, unknown>> = {};
  for (const n of [...PROCESSES, 'total'] as const) {
    const row: Record<string, unknown> = {};
    for (const p of phases) {
      const cpu = p.cpuMsPer1000Trades as Record<string, number>;
      const pct = p.cpuPercentOfOneCore as Record<string, number>;
      if (cpu[n] === undefined) continue;
      row[`@${p.offeredTradesPerS}/s`] = n === 'total' ? cpu[n] : `${cpu[n]} (${pct[n]}% core)`;
    }
    if (Object.keys(row).length === 0) continue;
    if (fl) {
      row.floor =
        n === 'cassandra'
          ? fl.cassandraMsPer1000Trades
          : n === 'total'
            ? Math.round((fl.cassandraMsPer1000Trades + fl.benchMsPer1000Trades) * 10) / 10
            : '';
    }
    rows[n] = row;
  }
  if (fl) {
    for (const n of ['cassandra', 'total'] as const) {
      const row: Record<string, unknown> = { floor: 1 };
      for (const p of phases) {
        const v = p.vsFloor as Record<string, number>;
        row[`@${p.offeredTradesPerS}/s`] = n === 'cassandra' ? v.cassandraCpuMsPer1000 : v.totalCpuMsPer1000;
      }
      rows[`${n} ÷ floor`] = row;
    }
  }
  console.table(rows);
  const failed = phases.filter((p) => !(p.exact as { ok: boolean }).ok);
  if (failed.length > 0)
    console.log(
      `[bench] !!! stored/counted trades did not match what the feed sent at ${failed.map((p) => `${p.offeredTradesPerS}/s`).join(', ')} !!!`,
    );
}
