/**
 * Bridge benchmark: replay feed (own process, so it does not share the bridge's event loop) → bridge →
 * real Kafka (acks=all, idempotent).
 *
 * 1. Throughput: the offered rate rises step by step; per step we count trades acknowledged by Kafka per
 *    second and the receive→ack latency; the highest step the bridge keeps up with is its sustained rate.
 * 2. Latency: the feed offers a fixed 5,000 trades/s; we record receive→ack latency of every record.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startPrivateKafka } from '../dev/runtime/private-kafka.ts';
import { findRunningRuntime } from '../dev/runtime/runtime.ts';
import { loadBridgeConfig } from '../functions/bridge/config.ts';
import type { OutRecord } from '../functions/bridge/record.ts';
import { startBridgeService } from '../functions/bridge/service.ts';
import { createKafkaClient } from '../shared/kafka/index.ts';
import { createLogger } from '../shared/observability/index.ts';
import { startFeedProcess } from './feed-process.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const SYMBOLS = [
  'BINANCE:BTCUSDT',
  'BINANCE:ETHUSDT',
  'BINANCE:SOLUSDT',
  'BINANCE:XRPUSDT',
  'BINANCE:DOGEUSDT',
  'AAPL',
  'MSFT',
  'TSLA',
  'AMZN',
  'NVDA',
];

export interface BridgeBenchOptions {
  /** Offered rates of the throughput ramp (trades/s). */
  steps?: number[];
  stepS?: number;
  latencyTradesPerSecond?: number;
  warmupS?: number;
  measureS?: number;
}

const quantile = (sorted: Float64Array, q: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const round2 = (x: number): number => Number(x.toFixed(2));

interface Window {
  offeredTradesPerSecond: number;
  tradesPerSecond: number;
  recordsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  bridgeCpuPercent: number;
  backlogRecords: number;
}

/** A running feed + bridge + topic, and a way to measure a window of acknowledgements. */
async function rig(brokers: string[], rate: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bridge-'));
  const topic = `bench-bridge-${randomUUID()}`;
  const feed = await startFeedProcess({ rate, pingMs: 5000, seed: 7 });
  let measuring = false;
  let trades = 0;
  let records = 0;
  let latencies: number[] = [];
  const onAck = (recs: readonly OutRecord[], ackAt: number) => {
    if (!measuring) return;
    for (const r of recs) {
      trades += r.trades;
      latencies.push(ackAt - r.receivedAt);
    }
    records += recs.length;
  };
  const service = await startBridgeService({
    config: loadBridgeConfig({
      FINNHUB_URL: feed.url,
      FINNHUB_SYMBOLS: SYMBOLS.join(','),
      KAFKA_TOPIC: topic,
      BRIDGE_HTTP_HOST: '127.0.0.1',
      BRIDGE_HTTP_PORT: '0',
      BRIDGE_SPOOL_DIR: join(dir, 'spool'),
    }),
    kafka: { brokers, clientId: 'bench-bridge', logLevel: 'nothing' },
    logger: createLogger('bench-bridge', { level: 'error' }),
    onAck,
  });
  return {
    feed,
    service,
    async window(offered: number, warmupS: number, measureS: number): Promise<Window> {
      await sleep(warmupS * 1000);
      trades = 0;
      records = 0;
      latencies = [];
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      measuring = true;
      await sleep(measureS * 1000);
      measuring = false;
      const elapsedS = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const sorted = Float64Array.from(latencies).sort();
      return {
        offeredTradesPerSecond: offered,
        tradesPerSecond: Math.round(trades / elapsedS),
        recordsPerSecond: Math.round(records / elapsedS),
        latencyP50Ms: round2(quantile(sorted, 0.5)),
        latencyP99Ms: round2(quantile(sorted, 0.99)),
        latencyMaxMs: round2(sorted[sorted.length - 1] ?? Number.NaN),
        bridgeCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / elapsedS) * 100),
        backlogRecords: service.bridge.delivery.queued + service.bridge.spool.depth,
      };
    },
    async close() {
      await feed.stop();
      await service.stop(30_000);
      const client = createKafkaClient({ brokers, clientId: 'bench-cleanup', logLevel: 'nothing' });
      await (await client.admin()).deleteTopics([topic]).catch(() => {});
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const fmt = (w: Window): string =>
  `offered ${w.offeredTradesPerSecond.toLocaleString('en')}/s → ${w.tradesPerSecond.toLocaleString('en')} trades/s acked ` +
  `(${w.recordsPerSecond.toLocaleString('en')} records/s), receive→ack p50 ${w.latencyP50Ms} ms, p99 ${w.latencyP99Ms} ms, ` +
  `backlog ${w.backlogRecords} records, bridge CPU ${w.bridgeCpuPercent} %`;

async function waitDrained(service: { bridge: { delivery: { queued: number }; spool: { depth: number } } }) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && service.bridge.delivery.queued + service.bridge.spool.depth > 0)
    await sleep(200);
  await sleep(1_000);
}

/**
 * Throughput: raise the offered rate step by step on one feed and bridge. A step is sustained when Kafka
 * acknowledged ≥ 95 % of the offered trades with p99 receive→ack under 1 s (no growing backlog); the ramp
 * ends at the first step that is not. The last step's acknowledged rate is the saturated capacity.
 */
async function throughput(brokers: string[], steps: number[], stepS: number) {
  const r = await rig(brokers, steps[0]!);
  const windows: Window[] = [];
  try {
    const ok = (w: Window) => w.tradesPerSecond >= 0.95 * w.offeredTradesPerSecond && w.latencyP99Ms <= 1_000;
    for (const rate of steps) {
      r.feed.setRate(rate);
      let w = await r.window(rate, 1.5, stepS);
      if (!ok(w)) {
        // One retry (after letting the backlog drain at the previous rate): a busy neighbour on a shared
        // 2-core machine should not end the ramp.
        console.log(`[bench:bridge] ramp: ${fmt(w)} (retrying once)`);
        r.feed.setRate(windows.at(-1)?.offeredTradesPerSecond ?? rate / 2);
        await waitDrained(r.service);
        r.feed.setRate(rate);
        w = await r.window(rate, 1.5, stepS);
      }
      windows.push(w);
      console.log(`[bench:bridge] ramp: ${fmt(w)}`);
      if (!ok(w)) break;
    }
  } finally {
    await r.close();
  }
  const sustained = windows.filter(
    (w) => w.tradesPerSecond >= 0.95 * w.offeredTradesPerSecond && w.latencyP99Ms <= 1_000,
  );
  const best = sustained.at(-1);
  const last = windows.at(-1)!;
  return {
    maxSustainedTradesPerSecond: best?.tradesPerSecond ?? 0,
    saturatedTradesPerSecond: last.tradesPerSecond,
    steps: windows,
  };
}

async function latency(brokers: string[], rate: number, warmupS: number, measureS: number) {
  const r = await rig(brokers, rate);
  try {
    const w = await r.window(rate, warmupS, measureS);
    console.log(`[bench:bridge] latency: ${fmt(w)}`);
    return w;
  } finally {
    await r.close();
  }
}

/**
 * Kafka for the bench: a running local runtime if there is one, else a private broker only (no Cassandra
 * booting beside the measurement on a 2-core machine).
 */
async function kafkaForBench(): Promise<{ brokers: string[]; stop(): Promise<void> }> {
  const running = await findRunningRuntime({ log: () => {} });
  if (running) return { brokers: running.kafka.brokers, stop: async () => {} };
  const dir = join(repoRoot, '.cache', 'bench-kafka');
  rmSync(dir, { recursive: true, force: true });
  const kafka = await startPrivateKafka({
    dir,
    heapMb: 512,
    log: (l) => console.error(`[bench:bridge] kafka ${l}`),
  });
  return { brokers: kafka.brokers, stop: () => kafka.close() };
}

export async function run(opts: BridgeBenchOptions = {}): Promise<Record<string, unknown>> {
  const kafka = await kafkaForBench();
  try {
    const brokers = kafka.brokers;
    const steps = opts.steps ?? [10_000, 25_000, 50_000, 75_000, 100_000, 125_000, 150_000, 200_000];
    const tp = await throughput(brokers, steps, opts.stepS ?? 5);
    const lat = await latency(
      brokers,
      opts.latencyTradesPerSecond ?? 5_000,
      opts.warmupS ?? 3,
      opts.measureS ?? 15,
    );
    console.log(
      `[bench:bridge] sustained ${tp.maxSustainedTradesPerSecond.toLocaleString('en')} trades/s (saturates at ` +
        `${tp.saturatedTradesPerSecond.toLocaleString('en')}/s); at ${lat.offeredTradesPerSecond.toLocaleString('en')} trades/s ` +
        `receive→ack p50 ${lat.latencyP50Ms} ms, p99 ${lat.latencyP99Ms} ms`,
    );
    return {
      machine: { cpus: cpus().length, node: process.version, loadAverage: loadavg().map(round2) },
      symbols: SYMBOLS.length,
      throughput: tp,
      latency: lat,
    };
  } finally {
    await kafka.stop();
  }
}
