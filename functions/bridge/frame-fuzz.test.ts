import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame, fromKafkaRecord } from '../../shared/contract/index.ts';
import { createRegistry } from '../../shared/observability/index.ts';
import { Bridge } from './bridge.ts';
import { parseFrame } from './frame.ts';
import { captureLogger, MemorySink, testConfig } from './test-helpers.ts';

/**
 * Property tests: thousands of malformed and hostile frames go through the real frame path
 * (parseFrame → Bridge.onFrame → delivery) with an in-memory sink standing in for Kafka.
 */

type Reason = 'not_object' | 'symbol' | 'price' | 'volume' | 'time' | 'future';
/** Malformed optional fields: the trade is kept, the field repaired and counted. */
type Fix = 'conditions_dropped' | 'conditions_null_items';
const FIXES: readonly string[] = ['conditions_dropped', 'conditions_null_items'];
const NOW = Date.now();

const symbolArb = fc.constantFrom('BINANCE:BTCUSDT', 'AAPL', 'OANDA:EUR_USD', 'X');
const validTrade = fc.record({
  s: symbolArb,
  p: fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
  t: fc.integer({ min: NOW - 86_400_000, max: NOW }),
  v: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e5, noNaN: true })),
  c: fc.oneof(fc.constant(null), fc.array(fc.constantFrom('1', '12', '24'), { maxLength: 4 })),
});

/** A trade with exactly one field broken, labelled with the reason the validator must give. */
const badTrade: fc.Arbitrary<{ item: unknown; reason: Reason | Fix }> = fc.oneof(
  validTrade.chain((t) =>
    fc
      .constantFrom<unknown>(0, -1, -1e-9, '1', null, true, [], {}, Number.POSITIVE_INFINITY)
      .map((p) => ({ item: { ...t, p }, reason: 'price' as const })),
  ),
  validTrade.chain((t) =>
    fc
      .constantFrom<unknown>(-1, '0', null, {}, Number.NEGATIVE_INFINITY)
      .map((v) => ({ item: { ...t, v }, reason: 'volume' as const })),
  ),
  validTrade.chain((t) =>
    fc
      .constantFrom<unknown>(NOW + 0.5, 1_000, -5, '1700000000000', null, 2 ** 60)
      .map((x) => ({ item: { ...t, t: x }, reason: 'time' as const })),
  ),
  validTrade.chain((t) =>
    fc
      .constantFrom<unknown>(NOW + 7 * 86_400_000, NOW + 3_600_000)
      .map((x) => ({ item: { ...t, t: x }, reason: 'future' as const })),
  ),
  validTrade.chain((t) =>
    fc
      .constantFrom<unknown>('', 1, null, ['A'], 'x'.repeat(100), 'a b', '\u0000')
      .map((s) => ({ item: { ...t, s }, reason: 'symbol' as const })),
  ),
  validTrade.chain((t) =>
    fc
      .constantFrom<unknown>('1', 1, {}, [1], [{}], Array(40).fill('1'), ['x'.repeat(50)])
      .map((c) => ({ item: { ...t, c }, reason: 'conditions_dropped' as const })),
  ),
  validTrade.chain((t) =>
    fc
      .constantFrom<unknown>(['1', null], [null], [null, '12', null])
      .map((c) => ({ item: { ...t, c }, reason: 'conditions_null_items' as const })),
  ),
  fc
    .oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.integer()), fc.boolean())
    .map((item) => ({ item, reason: 'not_object' as const })),
);

const mixedFrame = fc.array(
  fc.oneof(
    validTrade.map((t) => ({ item: t as unknown, reason: undefined as Reason | Fix | undefined })),
    badTrade.map((b) => ({ item: b.item, reason: b.reason as Reason | Fix | undefined })),
  ),
  { maxLength: 30 },
);

/** Anything a hostile or broken feed might send as one websocket message. */
const hostileMessage: fc.Arbitrary<{ data: string | Buffer; binary: boolean }> = fc.oneof(
  fc.string({ maxLength: 200 }).map((s) => ({ data: s, binary: false })),
  fc.json({ maxDepth: 4 }).map((s) => ({ data: s, binary: false })),
  fc.anything({ maxDepth: 3 }).map((x) => ({ data: JSON.stringify(x) ?? 'undefined', binary: false })),
  fc
    .tuple(fc.uint8Array({ maxLength: 300 }), fc.boolean())
    .map(([u, binary]) => ({ data: Buffer.from(u), binary })),
  fc
    .record({
      type: fc.oneof(fc.constantFrom('trade', 'ping', 'error', '__proto__', 'constructor'), fc.string()),
      data: fc.anything({ maxDepth: 2 }),
      msg: fc.anything({ maxDepth: 1 }),
    })
    .map((o) => ({ data: JSON.stringify(o), binary: false })),
  fc.constantFrom(
    { data: '{"type":"trade","data":[{"__proto__":{"p":1},"s":"A","t":1,"v":1}]}', binary: false },
    { data: '{"__proto__":{"type":"trade"},"data":[]}', binary: false },
    { data: `{"type":"trade","data":[${'{"s":"A"},'.repeat(5000)}{}]}`, binary: false },
    { data: 'x'.repeat(3 << 20), binary: false },
    { data: `${'['.repeat(100_000)}${']'.repeat(100_000)}`, binary: false },
    { data: '\uFEFF{"type":"ping"}', binary: false },
    { data: '', binary: false },
  ),
);

async function total(c: Counter<string>): Promise<number> {
  return (await c.get()).values.reduce((n, v) => n + v.value, 0);
}
async function byLabel(c: Counter<string>, label: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await c.get()).values) out[String(v.labels[label])] = v.value;
  return out;
}

describe('frame handler under hostile input (fast-check)', () => {
  let dir: string;
  let bridge: Bridge;
  const sink = new MemorySink();
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fuzz-'));
    bridge = new Bridge({
      config: testConfig({ BRIDGE_SPOOL_DIR: dir, BRIDGE_MAX_FRAME_BYTES: String(2 << 20) }),
      feedUrl: 'ws://127.0.0.1:9',
      logger: captureLogger('warn').logger,
      registry: createRegistry(),
      sink,
    });
  });
  afterAll(async () => {
    await bridge.stop(1_000);
    rmSync(dir, { recursive: true, force: true });
  });
  const deliver = (data: string | Buffer, binary: boolean) =>
    bridge.onFrame(parseFrame(data, binary, { maxFrameBytes: 2 << 20 }), Date.now());

  it('publishes exactly the valid trades of mixed frames and counts every rejection by reason', async () => {
    await fc.assert(
      fc.asyncProperty(mixedFrame, async (items) => {
        const m = bridge.metrics;
        const before = { acked: sink.acked.length, trades: await total(m.bridgeTrades) };
        const rejBefore = await byLabel(m.bridgeTradeRejects, 'reason');
        const fixBefore = await byLabel(m.bridgeTradeFixes, 'fix');
        sink.acked.length = 0;
        deliver(JSON.stringify({ type: 'trade', data: items.map((i) => i.item) }), false);
        expect(await bridge.flush(5_000)).toBe(true);
        const valid = items
          .filter((i) => i.reason === undefined || FIXES.includes(i.reason))
          .map((i) => i.item as { s: string; p: number });
        // What reached the sink: the valid trades, per symbol in frame order, decodable Avro.
        const published = sink.acked.flatMap((r) => fromKafkaRecord(r).trades);
        expect(published.length).toBe(valid.length);
        for (const s of new Set(valid.map((v) => v.s))) {
          expect(published.filter((t) => t.s === s).map((t) => t.p)).toEqual(
            valid.filter((v) => v.s === s).map((v) => v.p),
          );
        }
        for (const r of sink.acked) expect(decodeFrame(r.value).data.every((t) => t.s === r.key)).toBe(true);
        expect((await total(m.bridgeTrades)) - before.trades).toBe(valid.length);
        const rejAfter = await byLabel(m.bridgeTradeRejects, 'reason');
        const want: Record<string, number> = {};
        for (const i of items) if (i.reason) want[i.reason] = (want[i.reason] ?? 0) + 1;
        for (const reason of ['not_object', 'symbol', 'price', 'volume', 'time', 'future']) {
          expect((rejAfter[reason] ?? 0) - (rejBefore[reason] ?? 0)).toBe(want[reason] ?? 0);
        }
        const fixAfter = await byLabel(m.bridgeTradeFixes, 'fix');
        for (const fix of FIXES) expect((fixAfter[fix] ?? 0) - (fixBefore[fix] ?? 0)).toBe(want[fix] ?? 0);
      }),
      { numRuns: 1_500 },
    );
  }, 60_000);

  it('never throws on hostile messages, counts each one once, and still publishes good frames', async () => {
    const m = bridge.metrics;
    let frames = await total(m.bridgeFrames);
    await fc.assert(
      fc.asyncProperty(hostileMessage, async ({ data, binary }) => {
        expect(() => deliver(data, binary)).not.toThrow();
        const now = await total(m.bridgeFrames);
        expect(now - frames).toBe(1);
        frames = now;
      }),
      { numRuns: 3_000 },
    );
    const rejects = await byLabel(m.bridgeFrameRejects, 'reason');
    expect(rejects.not_json).toBeGreaterThan(0);
    expect(rejects.binary).toBeGreaterThan(0);
    expect(rejects.too_large).toBeGreaterThan(0);
    expect(await bridge.flush(5_000)).toBe(true);
    sink.acked.length = 0;
    deliver(
      JSON.stringify({ type: 'trade', data: [{ s: 'AAPL', p: 1.5, t: Date.now(), v: 2, c: null }] }),
      false,
    );
    expect(await bridge.flush(5_000)).toBe(true);
    expect(sink.acked.map((r) => fromKafkaRecord(r).trades[0]!.p)).toEqual([1.5]);
  }, 60_000);
});
