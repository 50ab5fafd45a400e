import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startReplayFeed } from '../../dev/replay-feed/server.ts';
import { startBridgeService } from './service.ts';
import { captureLogger, testConfig, until } from './test-helpers.ts';

describe('bridge service without a token', () => {
  it('reads the feed FINNHUB_URL names, serves health, and is not ready while Kafka is unreachable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'service-'));
    const cap = captureLogger('info');
    const feed = await startReplayFeed({ port: 0, tradesPerSecond: 200 });
    const service = await startBridgeService({
      config: testConfig({
        FINNHUB_URL: feed.url,
        FINNHUB_SYMBOLS: 'BINANCE:BTCUSDT,AAPL',
        BRIDGE_SPOOL_DIR: join(dir, 'spool'),
        BRIDGE_KAFKA_STALL_MS: '200',
      }),
      // Nothing listens on port 1: the producer never connects.
      kafka: {
        brokers: ['127.0.0.1:1'],
        clientId: 'service-test',
        logLevel: 'nothing',
        connectionTimeoutMs: 200,
      },
      logger: cap.logger,
    });
    try {
      await until(() => service.bridge.feed.isOpen && service.bridge.spool.depth > 0);
      expect((await fetch(`${service.httpUrl}/healthz`)).status).toBe(200);
      const ready = await fetch(`${service.httpUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { reasons: string[] }).reasons).toEqual(
        expect.arrayContaining(['Kafka producer not connected', 'spooling to disk']),
      );
      const metrics = await (await fetch(`${service.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/mp_bridge_spool_records\{service="bridge"\} [1-9]/);
      expect(metrics).toContain('mp_bridge_socket_open{service="bridge"} 1');
      expect(cap.text()).toContain('no FINNHUB_TOKEN: connecting to FINNHUB_URL without a token');
      expect(feed.stats.subscribes).toBeGreaterThan(0);
    } finally {
      const res = await service.stop(100);
      expect(res.drained).toBe(false);
      expect(res.spooled).toBeGreaterThan(0);
      await feed.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
