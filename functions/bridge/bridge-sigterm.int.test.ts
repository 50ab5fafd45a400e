import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type ReplayFeed, startReplayFeed } from '../../dev/replay-feed/server.ts';
import { deleteTopic, readTopic, tradesBySymbolFromFeed, tradesBySymbolFromKafka } from './int-helpers.ts';
import { until } from './test-helpers.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The real entry point as a child process: SIGTERM while trades stream in. The process must close the
 * websocket, flush everything it received to Kafka and exit 0; the topic then equals what the feed sent.
 */
describe('bridge main: SIGTERM mid-stream', () => {
  const brokers = inject('kafkaBrokers');
  const topic = `bridge-sigterm-${randomUUID()}`;
  let feed: ReplayFeed | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'bridge-sigterm-'));

  afterAll(async () => {
    await feed?.close();
    await deleteTopic(brokers, topic).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('flushes everything received before exiting', async () => {
    feed = await startReplayFeed({ tradesPerSecond: 2_000, tickMs: 10, recordInMemory: true });
    const f = feed;
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (!k.startsWith('FINNHUB_') && !k.startsWith('KAFKA_')) env[k] = v;
    Object.assign(env, {
      FINNHUB_URL: f.url,
      FINNHUB_SYMBOLS: 'BINANCE:BTCUSDT,AAPL,TSLA',
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC: topic,
      KAFKA_TOPIC_PARTITIONS: '2',
      BRIDGE_HTTP_HOST: '127.0.0.1',
      BRIDGE_HTTP_PORT: '0',
      BRIDGE_SPOOL_DIR: join(dir, 'spool'),
      LOG_LEVEL: 'info',
    });
    const child = spawn(process.execPath, ['--import', 'tsx', 'functions/bridge/main.ts'], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await until(() => out.includes('Kafka producer connected') && f.stats.tradesSent > 6_000);
      const sentBeforeSignal = f.stats.tradesSent;
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(f.stats.tradesSent).toBeGreaterThanOrEqual(sentBeforeSignal);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const stopped = lines.find((l) => l.msg === 'bridge stopped; everything acknowledged');
    expect(stopped?.drained).toBe(true);

    const expected = tradesBySymbolFromFeed(f.sent);
    const { bySymbol, ids } = tradesBySymbolFromKafka(await readTopic(brokers, topic));
    expect(new Set(ids).size).toBe(ids.length);
    for (const [symbol, trades] of expected) expect(bySymbol.get(symbol)).toEqual(trades);
    expect([...bySymbol.values()].reduce((n, l) => n + l.length, 0)).toBe(f.stats.tradesSent);
  });
});
