import type { Trade } from '../contract/types.ts';
import { minuteOf } from './time.ts';

/**
 * Scales of the counter columns (documented in shared/cassandra/README.md). Each trade is rounded to the scale
 * once, so the live counters and the exact candle sums agree to the unit whatever the order of addition.
 *   volume_e8   = round(v * 1e8)       volume to 1e-8 (a satoshi for BTC)
 *   price_e8    = round(p * 1e8)       price to 1e-8
 *   notional_e6 = round(p * v * 1e6)   notional to a micro-unit of the quote currency
 * Headroom: a BTC minute (~1,000 trades at 7e4 USD) is ~7e15 in price_e8, far below 9.2e18.
 */
export const VOLUME_SCALE = 1e8;
export const PRICE_SCALE = 1e8;
export const NOTIONAL_SCALE = 1e6;

export interface ScaledSums {
  trades: number;
  volumeE8: number;
  priceE8: number;
  notionalE6: number;
}

export const scaledOf = (p: number, v: number): ScaledSums => ({
  trades: 1,
  volumeE8: Math.round(v * VOLUME_SCALE),
  priceE8: Math.round(p * PRICE_SCALE),
  notionalE6: Math.round(p * v * NOTIONAL_SCALE),
});

export const emptySums = (): ScaledSums => ({ trades: 0, volumeE8: 0, priceE8: 0, notionalE6: 0 });

export function addInto(acc: ScaledSums, p: number, v: number): void {
  const s = scaledOf(p, v);
  acc.trades += 1;
  acc.volumeE8 += s.volumeE8;
  acc.priceE8 += s.priceE8;
  acc.notionalE6 += s.notionalE6;
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
  /** volumeE8 / 1e8: exact to 1e-8. */
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
  const volume = sums.volumeE8 / VOLUME_SCALE;
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
