import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { httpBinaryHeaders, recordToEvent } from '../dev/dispatcher/events.ts';
import { parseFrame, splitBySymbol } from '../functions/bridge/frame.ts';
import { deleteTopic, readTopic } from '../functions/bridge/int-helpers.ts';
import { type BridgeService, startBridgeService } from '../functions/bridge/service.ts';
import { startFrameFeed, testConfig, until } from '../functions/bridge/test-helpers.ts';
import { minuteFinalizer } from '../functions/minute-finalizer/handler.ts';
import { minuteWindow } from '../functions/minute-window/handler.ts';
import { tradeWriter } from '../functions/trade-writer/handler.ts';
import {
  buildTradeBatchEvent,
  encodeFrame,
  MAX_NOTIONAL,
  MAX_PRICE,
  MAX_VOLUME,
  toHttpBinary,
  toKafkaRecord,
} from '../shared/contract/index.ts';
import { createFunctionHost, type FunctionHost } from '../shared/host/index.ts';
import type { IncomingRecord } from '../shared/kafka/index.ts';
import { createKafkaClient } from '../shared/kafka/index.ts';
import { sumsByMinute } from '../shared/market/aggregate.ts';
import { MINUTE_MS, minuteBuckets, minuteOf, tradeBucketOf } from '../shared/market/time.ts';
import { createLogger, createRegistry } from '../shared/observability/index.ts';
import { createTestKeyspace, type TestKeyspace } from './cassandra.ts';
import { allMetrics, quietLog } from './market-fixtures.ts';

/**
 * Issue 12 items 1 and 7 on the real Kafka and Cassandra: the acceptance rule is one function of the contract,
 * applied by the bridge before encoding and by every function after decoding. A malformed optional field
 * never costs its trade, a bad trade never costs its neighbours, and everything the bridge accepts is stored
 * by trade-writer and counted by minute-window.
 */
const brokers = inject('kafkaBrokers');
const settings = { finalizeLatenessS: 10, finalizeHorizonS: 3 * 3600, counterRetentionS: 86400 };
let ks: TestKeyspace;
let writerHost: FunctionHost;
let windowHost: FunctionHost;
const writerRegistry = createRegistry();

beforeAll(async () => {
  ks = await createTestKeyspace('mp_accept');
  const metrics = allMetrics();
  writerHost = createFunctionHost(tradeWriter({ store: ks.store, mode: 'batch', ...settings, metrics }), {
    log: quietLog,
    registry: writerRegistry,
  });
  windowHost = createFunctionHost(minuteWindow({ store: ks.store, ...settings, metrics }), {
    log: quietLog,
    registry: createRegistry(),
  });
});
afterAll(async () => {
  await writerHost?.close();
  await windowHost?.close();
  await ks?.drop();
});

/** POSTs a consumed record the way a KafkaSource does (HTTP binary mode) to both functions. */
async function deliverRecord(rec: IncomingRecord): Promise<number[]> {
  const ev = recordToEvent(rec, { namespace: 'market', name: 'trades' });
  const headers = httpBinaryHeaders(ev, 'market');
  return Promise.all(
    [writerHost, windowHost].map(
      async (h) =>
        (await h.app.inject({ method: 'POST', url: '/', headers, payload: ev.data ?? Buffer.alloc(0) }))
          .statusCode,
    ),
  );
}

/** The trade rows of these `trades_10s` buckets (shared/market/time.ts). */
async function storedTrades(symbol: string, buckets: Iterable<number>) {
  const out: { eventId: string; idx: number; price: number; conditions: string[] | null }[] = [];
  for (const b of new Set(buckets)) {
    const rs = await ks.client.execute(
      'SELECT event_id, idx, price, conditions FROM trades_10s WHERE symbol = ? AND bucket = ?',
      [symbol, new Date(b)],
      { prepare: true },
    );
    for (const r of rs.rows)
      out.push({ eventId: r.event_id, idx: r.idx, price: r.price, conditions: r.conditions ?? null });
  }
  return out;
}

async function liveCounters(symbol: string) {
  const rs = await ks.client.execute(
    'SELECT minute, trades, volume_e8, price_e8, notional_e6 FROM minute_live WHERE symbol = ?',
    [symbol],
    { prepare: true },
  );
  return new Map(
    rs.rows.map((r) => [
      (r.minute as Date).getTime(),
      [r.trades, r.volume_e8, r.price_e8, r.notional_e6].map((x) => BigInt(String(x))),
    ]),
  );
}

describe('a frame with "c": ["1", null], end to end (feed → bridge → Kafka → functions → Cassandra)', () => {
  const topic = `accept-it-${randomUUID()}`;
  let service: BridgeService;
  let feed: { url: string; close(): Promise<void> };
  let dir: string;
  // A closed minute two minutes ago: the finalizer may finalize it at once.
  const minute = minuteOf(Date.now()) - 2 * MINUTE_MS;
  const frame = {
    type: 'trade',
    data: [
      { s: 'AAPL', p: 190.01, t: minute + 1_000, v: 10, c: ['1', '12'] },
      { s: 'AAPL', p: 190.02, t: minute + 2_000, v: 5, c: ['1', null] },
      { s: 'AAPL', p: 190.03, t: minute + 3_000, v: 7, c: [null] },
      // Item 7: never subscribed, and stamped an hour ahead; both refused and counted by the bridge.
      { s: 'NOT:SUBSCRIBED', p: 1, t: minute + 1_000, v: 1, c: null },
      { s: 'AAPL', p: 190.5, t: Date.now() + 3_600_000, v: 1, c: null },
    ],
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'accept-it-'));
    feed = await startFrameFeed([frame]);
    service = await startBridgeService({
      config: testConfig({
        FINNHUB_URL: feed.url,
        FINNHUB_SYMBOLS: 'AAPL,MSFT',
        KAFKA_TOPIC: topic,
        KAFKA_TOPIC_PARTITIONS: '1',
        BRIDGE_SPOOL_DIR: join(dir, 'spool'),
      }),
      kafka: { brokers, clientId: 'accept-it', logLevel: 'nothing' },
      logger: createLogger('accept-it', { level: 'silent' }),
    });
  });
  afterAll(async () => {
    await service?.stop(5_000);
    await feed?.close();
    await deleteTopic(brokers, topic).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores all three AAPL trades, counts them, and finalizes an exact candle', async () => {
    const m = service.bridge.metrics;
    await until(async () => (await m.bridgeRecordsAcked.get()).values[0]?.value === 1);
    const rejects = Object.fromEntries(
      (await m.bridgeTradeRejects.get()).values.map((v) => [v.labels.reason, v.value]),
    );
    expect(rejects).toEqual({ unsubscribed: 1, future: 1 });
    const fixes = (await m.bridgeTradeFixes.get()).values.map((v) => [v.labels.fix, v.value]);
    expect(fixes).toEqual([['conditions_null_items', 2]]);

    const records = await readTopic(brokers, topic);
    expect(records).toHaveLength(1);
    expect(await deliverRecord(records[0]!)).toEqual([204, 204]);

    const rows = await storedTrades('AAPL', minuteBuckets(minute));
    expect(rows.map((r) => [r.idx, r.price, r.conditions])).toEqual([
      [0, 190.01, ['1', '12']],
      [1, 190.02, ['1']],
      [2, 190.03, null],
    ]);
    const fin = minuteFinalizer({ store: ks.store, ...settings, metrics: allMetrics() });
    await fin.run();
    const rs = await ks.client.execute(
      'SELECT open, close, trades, volume FROM candles_1m WHERE symbol = ? AND minute = ?',
      ['AAPL', new Date(minute)],
      { prepare: true },
    );
    expect(
      rs.rows[0] && [rs.rows[0].open, rs.rows[0].close, Number(rs.rows[0].trades), rs.rows[0].volume],
    ).toEqual([190.01, 190.03, 3, 22]);
    expect(Number((await liveCounters('AAPL')).get(minute)?.[0])).toBe(3);
  });

  it('a record an older bridge wrote with a null condition is stored whole by the functions', async () => {
    const producer = await createKafkaClient({
      brokers,
      clientId: 'accept-old',
      logLevel: 'nothing',
    }).producer();
    const trades = [
      { s: 'MSFT', p: 410.5, t: minute + 5_000, v: 1, c: ['1', null] },
      { s: 'MSFT', p: 410.6, t: minute + 6_000, v: 2, c: null },
    ];
    // Written raw, as before the fix: the Avro schema admits null items.
    const kr = toKafkaRecord({
      ...buildTradeBatchEvent({ symbol: 'MSFT', trades: [{ ...trades[1]! }], receivedAtMs: Date.now() }),
      data: encodeFrame({ type: 'trade', data: trades }),
    });
    await producer.send(topic, [{ key: kr.key, value: kr.value, headers: kr.headers }]);
    const rec = (await readTopic(brokers, topic)).find((r) => r.key?.toString() === 'MSFT')!;
    expect(await deliverRecord(rec)).toEqual([204, 204]);
    const rows = await storedTrades('MSFT', minuteBuckets(minute));
    expect(rows.map((r) => r.conditions)).toEqual([['1'], null]);
    const text = await writerRegistry.metrics();
    expect(text).toMatch(
      /mp_function_trade_fixes_total\{function="trade-writer",fix="conditions_null_items"\} 1/,
    );
  });
});

describe('property: every trade the bridge accepts is stored by trade-writer and counted by minute-window', () => {
  const now = Date.now();
  /** The whole space of what a feed can send, well beyond what is valid. */
  const anyTrade = fc.record(
    {
      s: fc.oneof(fc.constant('P'), fc.string({ minLength: 1, maxLength: 64, unit: 'binary-ascii' })),
      p: fc.oneof(
        fc.double({ min: Number.MIN_VALUE, max: MAX_PRICE, noNaN: true }),
        fc.constantFrom(MAX_PRICE, 1e-9, 5e-9, 0.015, 99_999.99, 0, -1),
      ),
      v: fc.oneof(
        fc.double({ min: 0, max: MAX_VOLUME, noNaN: true }),
        fc.constantFrom(0, 1e-8, 0.123_456_78, MAX_VOLUME, MAX_NOTIONAL / MAX_PRICE),
      ),
      t: fc.oneof(
        fc.integer({ min: now - 3 * 3600_000, max: now + 10_000 }),
        fc.integer({ min: Date.UTC(2000, 0, 1), max: now }),
      ),
      c: fc.oneof(
        fc.constant(null),
        fc.constant(undefined),
        fc.array(fc.oneof(fc.constant(null), fc.string({ maxLength: 20 }), fc.integer()), { maxLength: 40 }),
        fc.string(),
      ),
    },
    { requiredKeys: ['s', 'p', 'v', 't'] },
  );

  it('stores every accepted trade once under its identity and counts each within the horizon', async () => {
    let run = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(anyTrade, { minLength: 1, maxLength: 25 }), async (items) => {
        run += 1;
        // One symbol per run keeps runs apart in the shared keyspace; the feed may still send any symbol.
        const own = `PROP${run}`;
        const data = items.map((x) => (x.s === 'P' ? { ...x, s: own } : x));
        const parsed = parseFrame(JSON.stringify({ type: 'trade', data }), false, { maxFrameBytes: 1 << 22 });
        if (parsed.kind !== 'trade') throw new Error(`frame refused: ${JSON.stringify(parsed)}`);
        for (const [symbol, trades] of splitBySymbol(parsed.trades)) {
          if (symbol !== own) continue;
          accepted += trades.length;
          const ev = buildTradeBatchEvent({ symbol, trades, receivedAtMs: Date.now() });
          const { headers, body } = toHttpBinary(ev);
          for (const h of [writerHost, windowHost]) {
            const res = await h.app.inject({ method: 'POST', url: '/', headers, payload: body });
            expect(res.statusCode, res.body).toBe(204);
          }
          const rows = await storedTrades(
            symbol,
            trades.map((t) => tradeBucketOf(t.t)),
          );
          expect(
            rows
              .filter((r) => r.eventId === ev.id)
              .map((r) => r.idx)
              .sort((a, b) => a - b),
          ).toEqual(trades.map((_t, i) => i));
          const horizon = Date.now() - settings.finalizeHorizonS * 1000 + 60_000;
          const live = await liveCounters(symbol);
          for (const [m, s] of sumsByMinute(trades.filter((t) => minuteOf(t.t) >= horizon))) {
            expect(live.get(m)).toEqual([s.trades, s.volumeE8, s.priceE8, s.notionalE6].map(BigInt));
          }
        }
      }),
      { numRuns: 40 },
    );
    expect(accepted).toBeGreaterThan(0);
  });
});
