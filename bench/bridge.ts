/**
 * Bridge benchmark: replay feed (own process, so it does not share the bridge's event loop) → bridge →
 * real Kafka (acks=all, idempotent).
 *
 * 1. Throughput: the feed offers more than the bridge can take; we count trades acknowledged by Kafka per
 *    second over a steady window (after a warm-up).
 * 2. Latency: the feed offers a fixed 5,000 trades/s; we record receive→ack latency of every record.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { acquireRuntime } from '../dev/runtime/runtime.ts';
import { loadBridgeConfig } from '../functions/bridge/config.ts';
import type { OutRecord } from '../functions/bridge/record.ts';
import { startBridgeService } from '../functions/bridge/service.ts';
import { createKafkaClient } from '../shared/kafka/index.ts';
import { createLogger } from '../shared/observability/index.ts';

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
  /** Offered rate of the throughput phase (trades/s). */
  offeredTradesPerSecond?: number;
  latencyTradesPerSecond?: number;
  warmupS?: number;
  measureS?: number;
}

async function startFeed(rate: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'dev/replay-feed/cli.ts',
      '--port',
      '0',
      '--rate',
      String(rate),
      '--ping-ms',
      '5000',
      '--no-bursts',
      '--seed',
      '7',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const rl = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`replay feed exited (${code})`)));
    rl.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { url?: string };
        if (msg.url) resolve(msg.url);
      } catch {
        // not a JSON line
      }
    });
  });
  return { url, child };
}

async function stopFeed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const quantile = (sorted: Float64Array, q: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function phase(
  name: string,
  brokers: string[],
  rate: number,
  warmupS: number,
  measureS: number,
): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bridge-'));
  const topic = `bench-bridge-${randomUUID()}`;
  const feed = await startFeed(rate);
  let measuring = false;
  let trades = 0;
  let records = 0;
  const latencies: number[] = [];
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
  try {
    await sleep(warmupS * 1000);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    measuring = true;
    await sleep(measureS * 1000);
    measuring = false;
    const elapsedS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const sorted = Float64Array.from(latencies).sort();
    const out = {
      offeredTradesPerSecond: rate,
      tradesPerSecond: Math.round(trades / elapsedS),
      recordsPerSecond: Math.round(records / elapsedS),
      latencyP50Ms: Number(quantile(sorted, 0.5).toFixed(2)),
      latencyP99Ms: Number(quantile(sorted, 0.99).toFixed(2)),
      latencyMaxMs: Number((sorted[sorted.length - 1] ?? Number.NaN).toFixed(2)),
      bridgeCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / elapsedS) * 100),
      spooledAtEnd: service.bridge.spool.depth,
    };
    console.log(
      `[bench:bridge] ${name}: ${out.tradesPerSecond.toLocaleString('en')} trades/s acked ` +
        `(${out.recordsPerSecond.toLocaleString('en')} records/s; offered ${rate.toLocaleString('en')}/s), ` +
        `receive→ack p50 ${out.latencyP50Ms} ms, p99 ${out.latencyP99Ms} ms, bridge CPU ${out.bridgeCpuPercent} %`,
    );
    return out;
  } finally {
    await stopFeed(feed.child);
    await service.stop(30_000);
    const client = createKafkaClient({ brokers, clientId: 'bench-cleanup', logLevel: 'nothing' });
    await (await client.admin()).deleteTopics([topic]).catch(() => {});
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(opts: BridgeBenchOptions = {}): Promise<Record<string, unknown>> {
  const runtime = await acquireRuntime({ log: (l) => console.error(`[runtime] ${l}`) });
  try {
    const brokers = runtime.kafka.brokers;
    const warmupS = opts.warmupS ?? 3;
    const measureS = opts.measureS ?? 10;
    const throughput = await phase(
      'throughput',
      brokers,
      opts.offeredTradesPerSecond ?? 150_000,
      warmupS,
      measureS,
    );
    const latency = await phase('latency', brokers, opts.latencyTradesPerSecond ?? 5_000, warmupS, measureS);
    return {
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      symbols: SYMBOLS.length,
      throughput,
      latencyAt5k: latency,
    };
  } finally {
    await runtime.stop();
  }
}
