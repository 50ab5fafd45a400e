import { describe, expect, it } from 'vitest';
import { type Bar, bucketOf, ROLLUP_LEVELS, rollBars, vwapOfSums } from './rollup.ts';

const bar = (
  start: number,
  o: number,
  h: number,
  l: number,
  c: number,
  trades: bigint,
  vol: bigint,
): Bar => ({
  start,
  open: o,
  high: h,
  low: l,
  close: c,
  sums: { trades, volumeE8: vol, priceE8: trades * 100n, notionalE6: vol * 2n },
  firstTradeTime: start + 1,
  lastTradeTime: start + 2,
  minutes: 1,
});

describe('roll-up of candles', () => {
  it('takes the first open, the last close, the extremes and the sums, whatever the input order', () => {
    const r = rollBars(0, [bar(60_000, 5, 9, 1, 2, 3n, 10n), bar(0, 4, 6, 3, 5, 2n, 2n ** 62n)])!;
    expect(r).toEqual({
      start: 0,
      open: 4,
      high: 9,
      low: 1,
      close: 2,
      sums: { trades: 5n, volumeE8: 2n ** 62n + 10n, priceE8: 500n, notionalE6: 2n ** 63n + 20n },
      firstTradeTime: 1,
      lastTradeTime: 60_002,
      minutes: 2,
    });
    expect(rollBars(0, [])).toBeNull();
  });

  it('VWAP from the sums, rounded half up to 1e-8; null without volume', () => {
    // 1.5 units for 150,000.015 -> 100,000.01
    expect(
      vwapOfSums({ trades: 2n, volumeE8: 150_000_000n, priceE8: 0n, notionalE6: 150_000_015_000n }),
    ).toBe(100_000.01);
    // 1/3: 0.333333333... -> 0.33333333
    expect(vwapOfSums({ trades: 1n, volumeE8: 300_000_000n, priceE8: 0n, notionalE6: 1_000_000n })).toBe(
      0.33333333,
    );
    expect(vwapOfSums({ trades: 1n, volumeE8: 0n, priceE8: 1n, notionalE6: 0n })).toBeNull();
  });

  it('levels nest: each is rolled from the level below, buckets are UTC-aligned', () => {
    expect(ROLLUP_LEVELS.map((l) => `${l.from}->${l.resolution}`)).toEqual([
      '1m->5m',
      '5m->15m',
      '15m->1h',
      '1h->1d',
    ]);
    const t = Date.UTC(2026, 10, 20, 23, 59, 30);
    expect(bucketOf(t, '5m')).toBe(Date.UTC(2026, 10, 20, 23, 55));
    expect(bucketOf(t, '1h')).toBe(Date.UTC(2026, 10, 20, 23));
    expect(bucketOf(t, '1d')).toBe(Date.UTC(2026, 10, 20));
  });
});
