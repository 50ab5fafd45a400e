import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hugeMinute } from '../../test/huge-minute.ts';
import {
  compareIdentity,
  computeCandle,
  INT64_MAX,
  outOfRange,
  scaledOf,
  sumsByMinute,
  type TradeRow,
} from './aggregate.ts';
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
    expect(c.sums).toEqual({
      trades: 4n,
      volumeE8: 600_000_000n,
      priceE8: 4_200_000_000n,
      notionalE6: 68_000_000n,
    });
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
        const live = new Map<number, bigint[]>();
        for (let i = 0; i < trades.length; i += 7) {
          for (const [m, s] of sumsByMinute(trades.slice(i, i + 7))) {
            const acc = live.get(m) ?? [0n, 0n, 0n, 0n];
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

  it('is exact at 300,000 trades in one minute at $100,000 with 8-decimal volumes (independent BigInt sums)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const { trades, expected } = hugeMinute(seed, 300_000);
        const [sums] = [...sumsByMinute(trades).values()];
        expect(sums).toEqual(expected);
        // Past 2^53 a JS number could not have held these sums exactly.
        expect(expected.priceE8 > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
        expect(outOfRange(expected)).toEqual([]);
      }),
      { numRuns: 2 },
    );
  }, 120_000);

  it('reports a sum past the signed 64-bit range instead of wrapping it', () => {
    const big = scaledOf(1e9, 1e3);
    expect(outOfRange({ ...big, priceE8: INT64_MAX })).toEqual([]);
    expect(outOfRange({ ...big, priceE8: INT64_MAX + 1n, notionalE6: -(2n ** 63n) - 1n })).toEqual([
      'priceE8',
      'notionalE6',
    ]);
  });
});
