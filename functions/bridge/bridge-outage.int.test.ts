import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReplayFeed, startReplayFeed } from '../../dev/replay-feed/server.ts';
import { type PrivateKafka, startPrivateKafka } from '../../dev/runtime/private-kafka.ts';
import { createLogger } from '../../shared/observability/index.ts';
import { readTopic, tradesBySymbolFromFeed, tradesBySymbolFromKafka } from './int-helpers.ts';
import { type BridgeService, startBridgeService } from './service.ts';
import { testConfig, until } from './test-helpers.ts';

/**
 * Kafka outage: the broker is stopped for 30 s mid-stream and started again. The bridge must spool,
 * report not-ready, drain in order afterwards, and the topic must hold every received trade exactly once.
 * Uses a private broker so the shared runtime (and the tests running on it) is not disturbed.
 */
const OUTAGE_MS = 30_000;

describe('bridge through a 30 s Kafka outage', () => {
  const topic = `bridge-outage-${randomUUID()}`;
  let kafka: PrivateKafka;
  let feed: ReplayFeed;
  let service: BridgeService;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bridge-outage-'));
    kafka = await startPrivateKafka({ dir: join(dir, 'kafka') });
    feed = await startReplayFeed({
      tradesPerSecond: 1_000,
      tickMs: 10,
      recordInMemory: true,
      pingIntervalMs: 1_000,
    });
    service = await startBridgeService({
      config: testConfig({
        FINNHUB_URL: feed.url,
        FINNHUB_SYMBOLS: 'BINANCE:BTCUSDT,BINANCE:ETHUSDT,AAPL,MSFT',
        KAFKA_TOPIC: topic,
        KAFKA_TOPIC_PARTITIONS: '2',
        BRIDGE_KAFKA_STALL_MS: '1000',
        BRIDGE_KAFKA_RETRY_MAX_MS: '1000',
        BRIDGE_SPOOL_DIR: join(dir, 'spool'),
        BRIDGE_SPOOL_SEGMENT_BYTES: String(256 * 1024),
      }),
      kafka: {
        brokers: kafka.brokers,
        clientId: 'bridge-outage',
        logLevel: 'nothing',
        requestTimeoutMs: 5_000,
      },
      logger: createLogger('bridge-outage', { level: 'error' }),
    });
  });

  afterAll(async () => {
    await service?.stop(5_000);
    await feed?.close();
    await kafka?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('spools while Kafka is down, turns unready, and loses or duplicates nothing', async () => {
    const { bridge } = service;
    const acked = async () => (await bridge.metrics.bridgeTradesAcked.get()).values[0]?.value ?? 0;
    await until(async () => (await acked()) > 2_000 && bridge.notReadyReasons().length === 0);

    const stoppedAt = Date.now();
    await kafka.stop();
    await until(() => bridge.delivery.spooling && bridge.spool.depth > 0);
    const ready = await fetch(`${service.httpUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reasons: string[] }).reasons).toContain('spooling to disk');
    const left = OUTAGE_MS - (Date.now() - stoppedAt);
    if (left > 0) await sleep(left);
    const spooledDuringOutage = bridge.spool.depth;
    expect(spooledDuringOutage).toBeGreaterThan(1_000);
    expect((await service.registry.metrics()).includes('mp_bridge_spool_records{service="bridge"} 0')).toBe(
      false,
    );

    await kafka.start();
    await until(() => bridge.notReadyReasons().length === 0 && bridge.spool.depth === 0);
    expect((await fetch(`${service.httpUrl}/readyz`)).status).toBe(200);
    const resumeAt = feed.stats.tradesSent;
    await until(() => feed.stats.tradesSent > resumeAt + 1_000);
    feed.setPaused(true);
    // Bounded, so that a loss shows up as the diff below rather than as a timeout.
    await until(
      async () => (await bridge.metrics.bridgeTrades.get()).values[0]?.value === feed.stats.tradesSent,
      20,
      60_000,
    );
    expect(await bridge.flush(60_000)).toBe(true);

    const expected = tradesBySymbolFromFeed(feed.sent);
    const { bySymbol, ids } = tradesBySymbolFromKafka(await readTopic(kafka.brokers, topic));
    expect(new Set(ids).size).toBe(ids.length);
    for (const [symbol, trades] of expected) expect(bySymbol.get(symbol)).toEqual(trades);
    expect([...bySymbol.values()].reduce((n, l) => n + l.length, 0)).toBe(feed.stats.tradesSent);
    const metrics = await service.registry.metrics();
    expect(metrics).not.toMatch(/mp_bridge_trades_dropped_total\{[^}]*\} [1-9]/);
  });
});
