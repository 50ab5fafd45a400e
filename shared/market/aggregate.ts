import type { Trade } from '../contract/types.ts';
import { minuteOf } from './time.ts';

/**
 * Scales of the counter columns (documented in shared/cassandra/README.md). Each trade is rounded to the scale
 * once, and every sum is a BigInt, so the live counters and the exact candle sums agree to the unit whatever
 * the order of addition and however large the minute (JS numbers are exact only to 2^53 ≈ 9.0e15).
 *   volume_e8   = round(v * 1e8)                     volume to 1e-8 (a satoshi for BTC)
 *   price_e8    = round(p * 1e8)                     price to 1e-8
 *   notional_e6 = round(price_e8 * volume_e8 / 1e10)  notional to a micro-unit of the quote currency, from the
 *                                                     two scaled integers, so it is exact (no float product)
 * Headroom: a counter is a signed 64-bit integer (max 9.22e18). 300,000 trades in one minute at 100,000 USD
 * are 3e18 in price_e8, a third of the range; the acceptance rule bounds one trade (price_e8 <= 1e17,
 * volume_e8 and notional_e6 <= 1e18). A sum past the range is refused (`MP_COUNTER_OVERFLOW`), never wrapped.
 */
export const VOLUME_SCALE = 1e8;
export const PRICE_SCALE = 1e8;
export const NOTIONAL_SCALE = 1e6;
/** price_e8 · volume_e8 is scaled by 1e16; notional_e6 by 1e6. */
const NOTIONAL_DIVISOR = 10_000_000_000n;

export const INT64_MAX = 2n ** 63n - 1n;
export const INT64_MIN = -(2n ** 63n);
export const fitsInt64 = (x: bigint): boolean => x >= INT64_MIN && x <= INT64_MAX;

export interface ScaledSums {
  trades: bigint;
  volumeE8: bigint;
  priceE8: bigint;
  notionalE6: bigint;
}

export function scaledOf(p: number, v: number): ScaledSums {
  const volumeE8 = BigInt(Math.round(v * VOLUME_SCALE));
  const priceE8 = BigInt(Math.round(p * PRICE_SCALE));
  // Round half up of a non-negative product.
  const notionalE6 = (priceE8 * volumeE8 + NOTIONAL_DIVISOR / 2n) / NOTIONAL_DIVISOR;
  return { trades: 1n, volumeE8, priceE8, notionalE6 };
}

export const emptySums = (): ScaledSums => ({ trades: 0n, volumeE8: 0n, priceE8: 0n, notionalE6: 0n });

export function addInto(acc: ScaledSums, p: number, v: number): void {
  const s = scaledOf(p, v);
  acc.trades += 1n;
  acc.volumeE8 += s.volumeE8;
  acc.priceE8 += s.priceE8;
  acc.notionalE6 += s.notionalE6;
}

/** The columns of `s` that leave the signed 64-bit range of a counter (empty: all fit). */
export function outOfRange(s: ScaledSums): (keyof ScaledSums)[] {
  return (Object.keys(s) as (keyof ScaledSums)[]).filter((k) => !fitsInt64(s[k]));
}

/** Per-minute scaled sums of one event's trades (an event can straddle a minute boundary). */
export function sumsByMinute(trades: readonly Trade[]): Map<number, ScaledSums> {
  const out = new Map<number, ScaledSums>();
  for (const t of trades) {
    const m = minuteOf(t.t);
    let acc = out.get(m);
    if (!acc) {
      acc = emptySums();
      out.set(m, acc);
    }
    addInto(acc, t.p, t.v);
  }
  return out;
}

/** A stored trade row in identity order (trade time, then event id, then index). */
export interface TradeRow {
  readonly tradeTime: number;
  readonly eventId: string;
  readonly idx: number;
  readonly price: number;
  readonly volume: number;
}

export interface Candle {
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly trades: number;
  /** volumeE8 / 1e8, as a double (the exact value is `sums.volumeE8`). */
  readonly volume: number;
  /** Σ(p·v) / Σv over trades with volume; null when the minute only had zero-volume price updates. */
  readonly vwap: number | null;
  /** Mean of all prices (price updates with v=0 included, as the live counters count them). */
  readonly avgPrice: number;
  readonly sums: ScaledSums;
  readonly firstTradeTime: number;
  readonly lastTradeTime: number;
}

export const compareIdentity = (a: TradeRow, b: TradeRow): number =>
  a.tradeTime - b.tradeTime || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0) || a.idx - b.idx;

/** The exact candle of one minute's trades; rows must be in identity order (as the trades table returns them). */
export function computeCandle(rows: readonly TradeRow[]): Candle | null {
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (!first || !last) return null;
  let high = first.price;
  let low = first.price;
  let notional = 0;
  let priceSum = 0;
  const sums = emptySums();
  for (const r of rows) {
    if (r.price > high) high = r.price;
    if (r.price < low) low = r.price;
    notional += r.price * r.volume;
    priceSum += r.price;
    addInto(sums, r.price, r.volume);
  }
  const volume = Number(sums.volumeE8) / VOLUME_SCALE;
  const rawVolume = rows.reduce((a, r) => a + r.volume, 0);
  return {
    open: first.price,
    high,
    low,
    close: last.price,
    trades: rows.length,
    volume,
    vwap: rawVolume > 0 ? notional / rawVolume : null,
    avgPrice: priceSum / rows.length,
    sums,
    firstTradeTime: first.tradeTime,
    lastTradeTime: last.tradeTime,
  };
}
