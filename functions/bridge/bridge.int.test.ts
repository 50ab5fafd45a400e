import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ReplayFeed, startReplayFeed } from '../../dev/replay-feed/server.ts';
import { createLogger } from '../../shared/observability/index.ts';
import {
  deleteTopic,
  readTopic,
  sameMillisecondPairs,
  tradesBySymbolFromFeed,
  tradesBySymbolFromKafka,
} from './int-helpers.ts';
import { type BridgeService, startBridgeService } from './service.ts';
import { testConfig, until } from './test-helpers.ts';

/**
 * The bridge against the replay feed and the real Kafka: the feed drops the connection repeatedly and goes
 * silent once; afterwards the topic must hold every trade the feed sent, exactly once, in per-symbol order,
 * decodable with the seeds' schema file.
 */
describe('bridge → real Kafka', () => {
  const brokers = inject('kafkaBrokers');
  const topic = `bridge-it-${randomUUID()}`;
  const symbols = ['BINANCE:BTCUSDT', 'BINANCE:ETHUSDT', 'AAPL', 'MSFT', 'TSLA'];
  let feed: ReplayFeed;
  let service: BridgeService;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bridge-it-'));
    feed = await startReplayFeed({
      tradesPerSecond: 3_000,
      tickMs: 10,
      recordInMemory: true,
      disconnectEveryMs: 800,
      pingIntervalMs: 200,
      market: { seed: 42 },
    });
    service = await startBridgeService({
      config: testConfig({
        FINNHUB_URL: feed.url,
        FINNHUB_SYMBOLS: symbols.join(','),
        FINNHUB_WATCHDOG_MS: '2500',
        FINNHUB_BACKOFF_INITIAL_MS: '20',
        FINNHUB_BACKOFF_MAX_MS: '200',
        KAFKA_TOPIC: topic,
        KAFKA_TOPIC_PARTITIONS: '3',
        BRIDGE_SPOOL_DIR: join(dir, 'spool'),
      }),
      kafka: { brokers, clientId: 'bridge-it', logLevel: 'nothing' },
      logger: createLogger('bridge-it', { level: 'error' }),
    });
  });

  afterAll(async () => {
    await service?.stop(5_000);
    await feed?.close();
    await deleteTopic(brokers, topic).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes every trade exactly once, in per-symbol order, across reconnects and a watchdog restart', async () => {
    const { bridge } = service;
    // Repeated server-side disconnects while streaming.
    await until(() => feed.stats.serverDisconnects >= 4 && feed.stats.tradesSent >= 10_000);
    // Silence: the watchdog must notice and reconnect. Resume only once the dead socket is gone, so that
    // nothing is sent into it.
    const connectionsBefore = feed.stats.connections;
    feed.setSilent(true);
    await until(async () =>
      (await service.registry.metrics()).includes('mp_bridge_reconnects_total{reason="watchdog"'),
    );
    await until(
      () =>
        feed.stats.connections > connectionsBefore &&
        feed.stats.openConnections === 1 &&
        feed.subscriptions()[0]?.length === symbols.length,
    );
    feed.setSilent(false);
    const sentAtResume = feed.stats.tradesSent;
    await until(() => feed.stats.tradesSent >= sentAtResume + 3_000);
    // Stop the market, let the bridge flush, then compare Kafka with what the feed sent.
    feed.setPaused(true);
    // Bounded, so that a loss shows up as the diff below rather than as a timeout.
    await until(
      async () => (await bridge.metrics.bridgeTrades.get()).values[0]?.value === feed.stats.tradesSent,
      20,
      60_000,
    );
    expect(await bridge.flush(30_000)).toBe(true);

    const expected = tradesBySymbolFromFeed(feed.sent);
    const { bySymbol, ids } = tradesBySymbolFromKafka(await readTopic(brokers, topic));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...bySymbol.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [symbol, trades] of expected) expect(bySymbol.get(symbol)).toEqual(trades);
    const total = [...bySymbol.values()].reduce((n, l) => n + l.length, 0);
    expect(total).toBe(feed.stats.tradesSent);
    // The run covered what it claims to cover.
    expect(sameMillisecondPairs(expected)).toBeGreaterThan(100);
    expect([...expected.values()].flat().some((t) => t.v === 0)).toBe(true);
    const metrics = await service.registry.metrics();
    const closed = /mp_bridge_reconnects_total\{reason="closed",service="bridge"\} (\d+)/.exec(metrics);
    expect(Number(closed?.[1])).toBeGreaterThanOrEqual(4);
    expect(metrics).toContain(`mp_bridge_trades_acked_total{service="bridge"} ${total}`);
    expect(metrics).toMatch(/mp_bridge_last_trade_age_seconds\{symbol="AAPL"/);
  });
});
