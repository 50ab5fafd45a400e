/**
 * The whole local pipeline at fixed offered rates: replay feed -> bridge -> Kafka -> dispatcher -> functions
 * -> Cassandra. For each rate it prints the sustained stored/counted trades per second, the latency from
 * bridge receive to trade row written (exact per row: the row's write time minus its received_at) and to
 * counter updated (minute-window's mp_pipeline_latency_seconds histogram), the consumer lag left at the end,
 * and the CPU each process used (percent of one core).
 * Env: BENCH_RATES (default 1000,2500,5000), BENCH_SECONDS per rate (default 30).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeManifestCopy } from '../dev/pipeline/manifests.ts';
import { repoRoot } from '../dev/pipeline/service.ts';
import { LOCAL_TOPIC_PARTITIONS, type ServiceName, startStack } from '../dev/pipeline/stack.ts';
import { startReplayFeed } from '../dev/replay-feed/server.ts';
import { loadRuntimeConfig } from '../dev/runtime/config.ts';
import { runtimePaths } from '../dev/runtime/paths.ts';
import { acquireRuntime } from '../dev/runtime/runtime.ts';
import { liveJvms } from '../dev/runtime/state.ts';
import { histogramQuantile } from '../dev/viewer/health.ts';
import { bucketsOf, parsePromText } from '../dev/viewer/prom-text.ts';
import { createKafkaClient } from '../shared/kafka/index.ts';
import { HOUR_MS, hourOf } from '../shared/market/time.ts';
import { createLogger } from '../shared/observability/logger.ts';
import { benchKeyspace } from './keyspace.ts';
import { cpuSeconds } from './proc-cpu.ts';

const SYMBOLS = ['BINANCE:BTCUSDT', 'BINANCE:ETHUSDT', 'AAPL', 'MSFT'];
const quiet = createLogger('bench', { level: 'warn' });

const quantiles = (sorted: number[]) => {
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
};

async function scrape(url: string) {
  return parsePromText(await fetch(`${url}/metrics`).then((r) => r.text()));
}

const counter = (
  samples: ReturnType<typeof parsePromText>,
  name: string,
  labels: Record<string, string> = {},
) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);

export async function run(): Promise<Record<string, unknown>> {
  const rates = (process.env.BENCH_RATES ?? '1000,2500,5000').split(',').map(Number);
  const seconds = Number(process.env.BENCH_SECONDS ?? 30);
  const runtime = await acquireRuntime({ log: (l) => console.log(`[runtime] ${l}`) });
  const { keyspace, client: cassandra, drop } = await benchKeyspace(runtime, 'bench');
  const topic = `bench-${Date.now().toString(36)}`;
  const work = mkdtempSync(join(tmpdir(), 'mp-bench-'));
  const kafka = createKafkaClient({ brokers: runtime.kafka.brokers, clientId: 'bench', logger: quiet });
  const admin = await kafka.admin();
  await admin.ensureTopic(topic, LOCAL_TOPIC_PARTITIONS);
  await admin.ensureTopic(`${topic}-dlq`, 1);

  const feed = await startReplayFeed({
    port: 0,
    tradesPerSecond: 0,
    pingIntervalMs: 10_000,
    // Fixed rates: no bursts, so each phase offers what it says.
    market: { seed: 7, burstProbability: 0 },
  });
  const stack = await startStack({
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
    env: { FINNHUB_SYMBOLS: SYMBOLS.join(','), LOG_LEVEL: 'warn' },
    serviceEnv: { dispatcher: { DISPATCHER_PING_SCHEDULE: 'false' } },
  });
  const pids: Record<string, number> = {};
  for (const [name, s] of stack.services) pids[name] = s.pid!;
  // The JVMs of a runtime started from this repo's cache dir; an external runtime is not measured.
  for (const jvm of liveJvms(runtimePaths(resolve(repoRoot, loadRuntimeConfig().cacheDir))))
    pids[jvm.service] = jvm.pid;

  const phases: Record<string, unknown>[] = [];
  try {
    // Warm-up, not measured: JIT, connection pools, Cassandra memtables.
    feed.setRate(rates[0] ?? 500);
    await new Promise((r) => setTimeout(r, 15_000));
    feed.setRate(0);
    await new Promise((r) => setTimeout(r, 5_000));
    for (const rate of rates) {
      feed.setRate(rate);
      const fnNames: ServiceName[] = ['trade-writer', 'minute-window'];
      const before = Object.fromEntries(
        await Promise.all(fnNames.map(async (n) => [n, await scrape(stack.urls[n])])),
      );
      const cpu0 = Object.fromEntries(Object.entries(pids).map(([n, p]) => [n, cpuSeconds(p) ?? 0]));
      const sent0 = feed.stats.tradesSent;
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const t1 = Date.now();
      const sent = feed.stats.tradesSent - sent0;
      const after = Object.fromEntries(
        await Promise.all(fnNames.map(async (n) => [n, await scrape(stack.urls[n])])),
      );
      const cpu1 = Object.fromEntries(Object.entries(pids).map(([n, p]) => [n, cpuSeconds(p) ?? 0]));
      const dispatcher = await scrape(stack.urls.dispatcher);
      const lag = Object.fromEntries(
        ['trades', 'windows'].map((src) => [
          src,
          counter(dispatcher, 'mp_dispatcher_consumer_lag_records', { source: src }),
        ]),
      );
      const elapsedS = (t1 - t0) / 1000;
      const stored =
        counter(after['trade-writer']!, 'mp_function_trades_total') -
        counter(before['trade-writer']!, 'mp_function_trades_total');
      const counted =
        counter(after['minute-window']!, 'mp_function_trades_total') -
        counter(before['minute-window']!, 'mp_function_trades_total');

      // Exact receive -> row latency of the rows received in this phase.
      const lat: number[] = [];
      for (const symbol of SYMBOLS) {
        for (let h = hourOf(t0 - 60_000); h <= t1; h += HOUR_MS) {
          let pageState: string | undefined;
          do {
            const rs = await cassandra.execute(
              `SELECT received_at, WRITETIME(price) AS w FROM "${keyspace}".trades WHERE symbol = ? AND hour = ? AND trade_time >= ? AND trade_time < ?`,
              [symbol, new Date(h), new Date(t0), new Date(t1)],
              { prepare: true, fetchSize: 10_000, ...(pageState ? { pageState } : {}) },
            );
            for (const r of rs.rows) {
              if (r.received_at) lat.push(Number(r.w) / 1000 - (r.received_at as Date).getTime());
            }
            pageState = rs.pageState ?? undefined;
          } while (pageState);
        }
      }
      lat.sort((a, b) => a - b);
      const windowHist = new Map<number, number>();
      const hb = bucketsOf(before['minute-window']!, 'mp_pipeline_latency_seconds', {
        function: 'minute-window',
      });
      for (const [le, c] of bucketsOf(after['minute-window']!, 'mp_pipeline_latency_seconds', {
        function: 'minute-window',
      })) {
        windowHist.set(le, c - (hb.get(le) ?? 0));
      }
      const phase = {
        offeredTradesPerS: rate,
        sentTradesPerS: Math.round(sent / elapsedS),
        storedTradesPerS: Math.round(stored / elapsedS),
        countedTradesPerS: Math.round(counted / elapsedS),
        lagAtEndRecords: lag,
        receiveToRowMs: { samples: lat.length, ...quantiles(lat) },
        receiveToCounterMs: Object.fromEntries(
          [0.5, 0.95, 0.99].map((q) => [
            `p${Math.round(q * 100)}`,
            (histogramQuantile(q, windowHist) ?? Number.NaN) * 1000,
          ]),
        ),
        cpuPercentOfOneCore: Object.fromEntries(
          Object.keys(pids).map((n) => [n, Math.round(((cpu1[n]! - cpu0[n]!) / elapsedS) * 100)]),
        ),
      };
      phases.push(phase);
      console.log(`[bench] pipeline @ ${rate}/s: ${JSON.stringify(phase)}`);
      // Drain before the next rate so phases do not bleed into each other.
      feed.setRate(0);
      const drainDeadline = Date.now() + 120_000;
      while (Date.now() < drainDeadline) {
        const d = await scrape(stack.urls.dispatcher);
        if (counter(d, 'mp_dispatcher_consumer_lag_records') === 0) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  } finally {
    await stack.stop();
    await feed.close();
    await admin.deleteTopics([topic, `${topic}-dlq`]);
    await kafka.close();
    await drop();
    if (runtime.owned) await runtime.stop();
  }
  console.log('\n[bench] pipeline summary');
  console.table(
    phases.map((p) => {
      const r = p.receiveToRowMs as Record<string, number>;
      const c = p.receiveToCounterMs as Record<string, number>;
      return {
        offered: p.offeredTradesPerS,
        stored: p.storedTradesPerS,
        counted: p.countedTradesPerS,
        'row p50 ms': Math.round(r.p50!),
        'row p95 ms': Math.round(r.p95!),
        'row p99 ms': Math.round(r.p99!),
        'counter p50 ms': Math.round(c.p50!),
        'counter p99 ms': Math.round(c.p99!),
      };
    }),
  );
  return { seconds, phases };
}
