import { NOTIONAL_SCALE, PRICE_SCALE, type ScaledSums, VOLUME_SCALE } from './aggregate.ts';
import { MINUTE_MS } from './time.ts';

/**
 * Candles above one minute, rolled up exactly from the finalized one-minute candles. Each level is rolled
 * from the one below it (5m from 1m, 15m from 5m, 1h from 15m, 1d from 1h): buckets nest, and every rolled
 * value composes (first open, last close, max, min, BigInt sums), so each level is exactly the roll-up of
 * its one-minute candles while a re-roll reads at most 24 rows per level instead of up to 1,440.
 */
export const RESOLUTIONS = ['1m', '5m', '15m', '1h', '1d'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export interface RollupLevel {
  readonly resolution: Exclude<Resolution, '1m'>;
  readonly table: string;
  readonly spanMs: number;
  /** The level it is rolled from. */
  readonly from: Resolution;
}

export const RESOLUTION_MS: Readonly<Record<Resolution, number>> = {
  '1m': MINUTE_MS,
  '5m': 5 * MINUTE_MS,
  '15m': 15 * MINUTE_MS,
  '1h': 60 * MINUTE_MS,
  '1d': 1440 * MINUTE_MS,
};

export const candleTable = (r: Resolution): string => `candles_${r}`;

/** In roll order: each level's source is written before it is read. */
export const ROLLUP_LEVELS: readonly RollupLevel[] = (['5m', '15m', '1h', '1d'] as const).map(
  (resolution, i) => ({
    resolution,
    table: candleTable(resolution),
    spanMs: RESOLUTION_MS[resolution],
    from: RESOLUTIONS[i]!,
  }),
);

/** Start of the (UTC, epoch-aligned) bucket of `resolution` holding `tMs`. */
export const bucketOf = (tMs: number, r: Resolution): number =>
  Math.floor(tMs / RESOLUTION_MS[r]) * RESOLUTION_MS[r];

/** A candle of any resolution as the roll-up reads and writes it. */
export interface Bar {
  /** Bucket start (the `minute` column). */
  readonly start: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly sums: ScaledSums;
  readonly firstTradeTime: number;
  readonly lastTradeTime: number;
  /** One-minute candles it holds. */
  readonly minutes: number;
}

/**
 * VWAP from the scaled sums, rounded half up to 1e-8: notional_e6 / 1e6 / (volume_e8 / 1e8). The integer
 * quotient is below 2^53 for prices below ~9e7, so the one rounding to a double is the final division.
 * Null when the bucket only had zero-volume price updates.
 */
export function vwapOfSums(s: ScaledSums): number | null {
  if (s.volumeE8 <= 0n) return null;
  const num = s.notionalE6 * BigInt(VOLUME_SCALE) * BigInt(PRICE_SCALE);
  const den = s.volumeE8 * BigInt(NOTIONAL_SCALE);
  return Number((2n * num + den) / (2n * den)) / PRICE_SCALE;
}

/** Mean price from the sums (price_e8 / trades / 1e8). */
export const avgPriceOfSums = (s: ScaledSums): number =>
  s.trades > 0n ? Number(s.priceE8) / Number(s.trades) / PRICE_SCALE : 0;

/** The roll-up of `parts` (any order) into the bucket starting at `start`; null when there are none. */
export function rollBars(start: number, parts: readonly Bar[]): Bar | null {
  const sorted = [...parts].sort((a, b) => a.start - b.start);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (!first || !last) return null;
  const sums: ScaledSums = { trades: 0n, volumeE8: 0n, priceE8: 0n, notionalE6: 0n };
  let high = first.high;
  let low = first.low;
  let minutes = 0;
  for (const p of sorted) {
    if (p.high > high) high = p.high;
    if (p.low < low) low = p.low;
    sums.trades += p.sums.trades;
    sums.volumeE8 += p.sums.volumeE8;
    sums.priceE8 += p.sums.priceE8;
    sums.notionalE6 += p.sums.notionalE6;
    minutes += p.minutes;
  }
  return {
    start,
    open: first.open,
    high,
    low,
    close: last.close,
    sums,
    firstTradeTime: first.firstTradeTime,
    lastTradeTime: last.lastTradeTime,
    minutes,
  };
}
