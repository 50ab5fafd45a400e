/**
 * Issue 12 item 7, zero-volume price updates (docs/decisions.md, "Zero-volume price updates"): through
 * trade-writer, minute-window and the finalizer on the real Cassandra, a v = 0 update counts as a trade, sets
 * open/high/low/close like any trade, adds nothing to volume and has no weight in VWAP; a minute of only
 * updates has a candle with volume 0 and VWAP null. Live counters equal the candle's sums.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MINUTE_MS } from '../../shared/market/time.ts';
import { createTestKeyspace, type TestKeyspace } from '../../test/cassandra.ts';
import { allMetrics, batch, quietLog } from '../../test/market-fixtures.ts';
import { minuteWindow } from '../minute-window/handler.ts';
import { tradeWriter } from '../trade-writer/handler.ts';
import { minuteFinalizer } from './handler.ts';

const M0 = Date.UTC(2026, 10, 25, 9, 0, 0);
const settings = { finalizeLatenessS: 10, finalizeHorizonS: 3 * 3600, counterRetentionS: 86400 };
let ks: TestKeyspace;

beforeAll(async () => {
  ks = await createTestKeyspace('mp_zerovol');
});
afterAll(async () => ks?.drop());

async function row(table: 'candles_1m' | 'minute_live', cols: string, symbol: string, minute: number) {
  const rs = await ks.client.execute(
    `SELECT ${cols} FROM ${table} WHERE symbol = ? AND minute = ?`,
    [symbol, new Date(minute)],
    { prepare: true },
  );
  return rs.rows[0]!;
}
const sums = (r: Record<string, unknown>) =>
  ['trades', 'volume_e8', 'price_e8', 'notional_e6'].map((k) => BigInt(String(r[k])));

describe('zero-volume price updates', () => {
  it('enter counts and OHLC, not volume or VWAP; a minute of only updates has VWAP null', async () => {
    const clock = M0 + 3 * MINUTE_MS + 11_000;
    const metrics = allMetrics();
    const deps = { store: ks.store, ...settings, metrics, now: () => clock };
    const events = [
      batch('ZV', [
        { p: 10, t: M0 + 1_000, v: 0 }, // update: opens the minute
        { p: 12, t: M0 + 2_000, v: 1 },
        { p: 9, t: M0 + 3_000, v: 0 }, // update: the low
      ]),
      batch('ZV', [
        { p: 11, t: M0 + 4_000, v: 2 },
        { p: 13, t: M0 + 5_000, v: 0 }, // update: the high and the close
        { p: 20, t: M0 + MINUTE_MS + 1_000, v: 0 }, // the next minute: updates only
        { p: 21, t: M0 + MINUTE_MS + 2_000, v: 0 },
      ]),
    ];
    for (const ev of events) {
      await tradeWriter({ ...deps, mode: 'batch' }).handle(ev, { log: quietLog });
      await minuteWindow(deps).handle(ev, { log: quietLog });
    }
    await minuteFinalizer({ ...deps, tradeTtlS: 7 * 86400 }).run();

    const cols = 'open, high, low, close, trades, volume, vwap, avg_price, volume_e8, price_e8, notional_e6';
    const c0 = await row('candles_1m', cols, 'ZV', M0);
    expect([c0.open, c0.high, c0.low, c0.close, Number(c0.trades), c0.volume]).toEqual([10, 13, 9, 13, 5, 3]);
    expect(c0.vwap).toBeCloseTo((12 * 1 + 11 * 2) / 3, 12);
    expect(c0.avg_price).toBe((10 + 12 + 9 + 11 + 13) / 5);
    const c1 = await row('candles_1m', cols, 'ZV', M0 + MINUTE_MS);
    expect([c1.open, c1.high, c1.low, c1.close, Number(c1.trades), c1.volume, c1.vwap]).toEqual([
      20,
      21,
      20,
      21,
      2,
      0,
      null,
    ]);
    for (const [m, c] of [
      [M0, c0],
      [M0 + MINUTE_MS, c1],
    ] as const) {
      const live = await row('minute_live', 'trades, volume_e8, price_e8, notional_e6', 'ZV', m);
      expect(sums(live)).toEqual(sums(c));
    }
    expect(sums(c1)).toEqual([2n, 0n, 4_100_000_000n, 0n]);
    expect((await metrics.finalizerCorrections.get()).values.reduce((n, v) => n + v.value, 0)).toBe(0);
  });
});
