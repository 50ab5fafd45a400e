import cassandra from 'cassandra-driver';
import { pipelineError } from '../errors.ts';
import { fitsInt64, VOLUME_SCALE } from '../market/aggregate.ts';
import {
  avgPriceOfSums,
  type Bar,
  candleTable,
  type Resolution,
  type RollupLevel,
  vwapOfSums,
} from '../market/rollup.ts';

/**
 * Reads and writes of the rolled-up candle tables (migration 003_rollups.cql). Kept apart from
 * MarketStore: only minute-finalizer's roll-up hook and the tests use it.
 */
const COLUMNS =
  'minute, open, high, low, close, trades, volume_e8, price_e8, notional_e6, first_trade_time, last_trade_time';
const range = (table: string, extra = '') =>
  `SELECT ${COLUMNS}${extra} FROM ${table} WHERE symbol = ? AND minute >= ? AND minute < ?`;
const upsert = (table: string) =>
  `INSERT INTO ${table} (symbol, minute, open, high, low, close, trades, volume, vwap, avg_price, volume_e8, price_e8, notional_e6, first_trade_time, last_trade_time, minutes, rolled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const idem = { prepare: true, isIdempotent: true, fetchSize: 5000 } as const;
const big = (v: unknown): bigint => (v === null || v === undefined ? 0n : BigInt(String(v)));
const ms = (v: unknown): number => (v instanceof Date ? v.getTime() : Number(v));

function long(x: bigint, column: string): cassandra.types.Long {
  if (!fitsInt64(x))
    throw pipelineError('COUNTER_OVERFLOW', `${column} = ${x} is outside the signed 64-bit range`);
  return cassandra.types.Long.fromString(x.toString());
}

const barOf = (r: cassandra.types.Row): Bar => ({
  start: ms(r.minute),
  open: r.open as number,
  high: r.high as number,
  low: r.low as number,
  close: r.close as number,
  sums: {
    trades: big(r.trades),
    volumeE8: big(r.volume_e8),
    priceE8: big(r.price_e8),
    notionalE6: big(r.notional_e6),
  },
  firstTradeTime: ms(r.first_trade_time),
  lastTradeTime: ms(r.last_trade_time),
  minutes: r.minutes === undefined ? 1 : Number(r.minutes ?? 0),
});

export class RollupStore {
  constructor(readonly client: cassandra.Client) {}

  /** Candles of `resolution` starting in [fromMs, toMs): one partition slice of one bucket of the level above. */
  async bars(resolution: Resolution, symbol: string, fromMs: number, toMs: number): Promise<Bar[]> {
    const table = candleTable(resolution);
    const q = range(table, resolution === '1m' ? '' : ', minutes');
    // A roll reads at most 24 rows (1d from 1h), far below one page.
    const rs = await this.client.execute(q, [symbol, new Date(fromMs), new Date(toMs)], idem);
    return rs.rows.map(barOf);
  }

  async upsert(level: RollupLevel, symbol: string, bar: Bar): Promise<void> {
    const s = bar.sums;
    await this.client.execute(
      upsert(level.table),
      [
        symbol,
        new Date(bar.start),
        bar.open,
        bar.high,
        bar.low,
        bar.close,
        long(s.trades, 'trades'),
        Number(s.volumeE8) / VOLUME_SCALE,
        vwapOfSums(s),
        avgPriceOfSums(s),
        long(s.volumeE8, 'volume_e8'),
        long(s.priceE8, 'price_e8'),
        long(s.notionalE6, 'notional_e6'),
        new Date(bar.firstTradeTime),
        new Date(bar.lastTradeTime),
        bar.minutes,
        new Date(),
      ],
      idem,
    );
  }

  async delete(level: RollupLevel, symbol: string, start: number): Promise<void> {
    await this.client.execute(
      `DELETE FROM ${level.table} WHERE symbol = ? AND minute = ?`,
      [symbol, new Date(start)],
      idem,
    );
  }
}
