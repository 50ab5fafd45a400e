import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBridgeService } from './service.ts';
import { captureLogger, testConfig, until } from './test-helpers.ts';

describe('bridge service without a token', () => {
  it('starts the built-in replay feed, serves health, and is not ready while Kafka is unreachable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'service-'));
    const cap = captureLogger('info');
    const service = await startBridgeService({
      config: testConfig({
        FINNHUB_SYMBOLS: 'BINANCE:BTCUSDT,AAPL',
        REPLAY_TRADES_PER_SECOND: '200',
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
      expect(service.replayUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
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
      expect(cap.text()).toContain('using the built-in replay feed');
    } finally {
      const res = await service.stop(100);
      expect(res.drained).toBe(false);
      expect(res.spooled).toBeGreaterThan(0);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
