import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareIdentity, computeCandle, sumsByMinute, type TradeRow } from './aggregate.ts';
import { minuteOf } from './time.ts';

const row = (tradeTime: number, eventId: string, idx: number, price: number, volume: number): TradeRow => ({
  tradeTime,
  eventId,
  idx,
  price,
  volume,
});

describe('candle', () => {
  it('takes open/close by trade time then identity, and VWAP from volume-weighted notional', () => {
    const t = 1_700_000_040_000;
    const rows = [
      row(t, 'A', 0, 10, 1),
      row(t, 'A', 1, 12, 3),
      row(t + 5, 'B', 0, 9, 0),
      row(t + 9, 'B', 1, 11, 2),
    ];
    const c = computeCandle(rows)!;
    expect([c.open, c.high, c.low, c.close]).toEqual([10, 12, 9, 11]);
    expect(c.trades).toBe(4);
    expect(c.volume).toBe(6);
    expect(c.vwap).toBeCloseTo((10 + 36 + 22) / 6, 12);
    expect(c.avgPrice).toBe(10.5);
    expect(c.sums).toEqual({ trades: 4, volumeE8: 6e8, priceE8: 42e8, notionalE6: 68e6 });
  });

  it('has no VWAP for a minute of zero-volume price updates, and no candle without trades', () => {
    expect(computeCandle([row(1, 'A', 0, 5, 0)])!.vwap).toBeNull();
    expect(computeCandle([])).toBeNull();
  });

  it('live sums added event by event equal the exact sums of the minute, in any order', () => {
    const trade = fc.record({
      p: fc.double({ min: 0.0001, max: 100_000, noNaN: true }),
      v: fc.double({ min: 0, max: 1000, noNaN: true }),
      t: fc.integer({ min: 1_700_000_000_000, max: 1_700_000_600_000 }),
    });
    fc.assert(
      fc.property(fc.array(trade, { minLength: 1, maxLength: 60 }), (ts) => {
        const trades = ts.map((x) => ({ s: 'X', c: null, ...x }));
        const live = new Map<number, number[]>();
        for (let i = 0; i < trades.length; i += 7) {
          for (const [m, s] of sumsByMinute(trades.slice(i, i + 7))) {
            const acc = live.get(m) ?? [0, 0, 0, 0];
            live.set(m, [
              acc[0]! + s.trades,
              acc[1]! + s.volumeE8,
              acc[2]! + s.priceE8,
              acc[3]! + s.notionalE6,
            ]);
          }
        }
        const rows = trades.map((t, i) => row(t.t, 'E', i, t.p, t.v)).sort(compareIdentity);
        for (const [m, acc] of live) {
          const c = computeCandle(rows.filter((r) => minuteOf(r.tradeTime) === m))!;
          expect([c.sums.trades, c.sums.volumeE8, c.sums.priceE8, c.sums.notionalE6]).toEqual(acc);
        }
      }),
    );
  });
});
