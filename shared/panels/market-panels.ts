import { RESOLUTIONS } from '../market/rollup.ts';
import { RESOLUTION, SYMBOL, TIME_FROM, TIME_TO } from './cql.ts';
import type { Column, CqlPanel } from './types.ts';

/**
 * The market panels: every one is a single-partition CQL query of the `market` keyspace
 * (shared/cassandra/migrations/001_tables.cql), bounded by the dashboard time range and/or a LIMIT.
 */

const symbol: Column = { name: 'symbol', type: 'text', label: 'Symbol' };
const second: Column = { name: 'second', type: 'timestamp', label: 'Second' };
const minute: Column = { name: 'minute', type: 'timestamp', label: 'Minute' };
const dbl = (name: string, label: string, unit: Column['unit'] = 'currencyUSD'): Column => ({
  name,
  type: 'double',
  label,
  unit,
});

/** Seconds the price line may pull (price_seconds is newest-first): a day partition holds at most 86,400. */
export const TICK_LIMIT = 20_000;
/** A day of minutes. */
export const MINUTE_LIMIT = 1_440;
/** Rows of the past-minutes table. */
export const TABLE_MINUTES = 15;

/**
 * The one `price_seconds` partition a query reads: the UTC day of the range end, computed by Cassandra
 * (the datasource has no other way to name a bucket). A range reaching back past midnight shows today's part.
 */
export const PRICE_DAY = `symbol = ${SYMBOL} AND day = floor((timestamp)${TIME_TO}, 1d)`;
const secondRange = `${PRICE_DAY} AND second >= ${TIME_FROM} AND second <= ${TIME_TO}`;
const minuteRange = `symbol = ${SYMBOL} AND minute >= ${TIME_FROM} AND minute <= ${TIME_TO}`;

export const price = {
  id: 'price',
  source: 'cassandra',
  title: 'Price',
  description:
    'Price of the last trade of every second (price_seconds: one row per symbol and second, newest first).',
  viz: 'line',
  cql: `SELECT symbol, second, price FROM price_seconds WHERE ${secondRange} LIMIT ${TICK_LIMIT}`,
  columns: [symbol, second, dbl('price', 'Price')],
  timeColumn: 'second',
  valueColumns: ['price'],
  unit: 'currencyUSD',
} as const satisfies CqlPanel;

export const volume = {
  id: 'volume',
  source: 'cassandra',
  title: 'Volume',
  description:
    'Traded volume of each minute from the live counters (minute_live: volume_e8 / 1e8), including the ' +
    'minute in progress; closed minutes are reconciled to the exact sum by minute-finalizer.',
  viz: 'bars',
  cql: `SELECT symbol, minute, CAST(volume_e8 AS double) / 100000000 AS volume FROM minute_live WHERE ${minuteRange} LIMIT ${MINUTE_LIMIT}`,
  columns: [symbol, minute, dbl('volume', 'Volume', 'short')],
  timeColumn: 'minute',
  valueColumns: ['volume'],
  unit: 'short',
} as const satisfies CqlPanel;

export const tradesPerMinute = {
  id: 'tradesPerMinute',
  source: 'cassandra',
  title: 'Trades per minute',
  description:
    'Trade count of each minute from the live counters (minute_live), including the minute in progress; ' +
    'closed minutes are reconciled to the exact count by minute-finalizer.',
  viz: 'bars',
  cql: `SELECT symbol, minute, trades FROM minute_live WHERE ${minuteRange} LIMIT ${MINUTE_LIMIT}`,
  columns: [symbol, minute, { name: 'trades', type: 'counter', label: 'Trades', unit: 'short' }],
  timeColumn: 'minute',
  valueColumns: ['trades'],
  unit: 'short',
} as const satisfies CqlPanel;

/**
 * Average price of the newest minute up to the range end, computed in CQL from the scaled counters
 * (Cassandra 5 does arithmetic on counters: CAST to double, then divide; null when the minute has no trades).
 */
export const minuteAvgPrice = {
  id: 'minuteAvgPrice',
  source: 'cassandra',
  title: 'Average price, latest minute',
  description:
    'Mean trade price of the newest minute (in progress until it closes): price_e8 / trades / 1e8 from minute_live.',
  viz: 'stat',
  cql: `SELECT symbol, minute, CAST(price_e8 AS double) / trades / 100000000 AS avg_price FROM minute_live WHERE symbol = ${SYMBOL} AND minute <= ${TIME_TO} LIMIT 1`,
  columns: [symbol, minute, dbl('avg_price', 'Average price')],
  timeColumn: 'minute',
  valueColumns: ['avg_price'],
  unit: 'currencyUSD',
  decimals: 2,
} as const satisfies CqlPanel;

export const minuteTradeCount = {
  id: 'minuteTradeCount',
  source: 'cassandra',
  title: 'Trades, latest minute',
  description: 'Number of trades in the newest minute (in progress until it closes), from minute_live.',
  viz: 'stat',
  cql: `SELECT symbol, minute, trades FROM minute_live WHERE symbol = ${SYMBOL} AND minute <= ${TIME_TO} LIMIT 1`,
  columns: [symbol, minute, { name: 'trades', type: 'counter', label: 'Trades', unit: 'short' }],
  timeColumn: 'minute',
  valueColumns: ['trades'],
  unit: 'short',
  decimals: 0,
} as const satisfies CqlPanel;

export const lastTrade = {
  id: 'lastTrade',
  source: 'cassandra',
  title: 'Last trade',
  description:
    'The newest trade up to the range end, from price_seconds (its time gives the last-trade age; ' +
    'empty in the first seconds after midnight UTC until a trade arrives).',
  viz: 'stat',
  cql: `SELECT symbol, trade_time, price FROM price_seconds WHERE ${PRICE_DAY} AND second <= ${TIME_TO} LIMIT 1`,
  columns: [symbol, { name: 'trade_time', type: 'timestamp', label: 'Time' }, dbl('price', 'Price')],
  timeColumn: 'trade_time',
  valueColumns: ['price'],
  unit: 'currencyUSD',
  decimals: 2,
} as const satisfies CqlPanel;

export const candles = {
  id: 'candles',
  source: 'cassandra',
  title: `Candles (${RESOLUTION}) with VWAP`,
  description:
    'Exact candles of closed minutes at the chosen resolution (candles_1m, or candles_5m/15m/1h/1d rolled up ' +
    'from them), volume-weighted average price as a line.',
  viz: 'candles',
  cql: `SELECT symbol, minute, open, high, low, close, volume, vwap FROM candles_${RESOLUTION} WHERE ${minuteRange} LIMIT ${MINUTE_LIMIT}`,
  columns: [
    symbol,
    minute,
    dbl('open', 'Open'),
    dbl('high', 'High'),
    dbl('low', 'Low'),
    dbl('close', 'Close'),
    dbl('volume', 'Volume', 'short'),
    dbl('vwap', 'VWAP'),
  ],
  timeColumn: 'minute',
  valueColumns: ['open', 'high', 'low', 'close', 'volume', 'vwap'],
  unit: 'currencyUSD',
} as const satisfies CqlPanel;

export const pastMinutes = {
  id: 'pastMinutes',
  source: 'cassandra',
  title: `Past candles (${RESOLUTION})`,
  description: `The ${TABLE_MINUTES} newest candles in the range at the chosen resolution, newest first.`,
  viz: 'table',
  cql: `SELECT symbol, minute, open, high, low, close, avg_price, vwap, trades, volume FROM candles_${RESOLUTION} WHERE ${minuteRange} LIMIT ${TABLE_MINUTES}`,
  columns: [
    symbol,
    minute,
    dbl('open', 'Open'),
    dbl('high', 'High'),
    dbl('low', 'Low'),
    dbl('close', 'Close'),
    dbl('avg_price', 'Avg price'),
    dbl('vwap', 'VWAP'),
    { name: 'trades', type: 'bigint', label: 'Trades', unit: 'short' },
    dbl('volume', 'Volume', 'short'),
  ],
  timeColumn: 'minute',
  valueColumns: ['open', 'high', 'low', 'close', 'avg_price', 'vwap', 'trades', 'volume'],
  unit: 'currencyUSD',
  decimals: 2,
} as const satisfies CqlPanel;

export const MARKET_PANELS = [
  price,
  volume,
  tradesPerMinute,
  minuteAvgPrice,
  minuteTradeCount,
  lastTrade,
  candles,
  pastMinutes,
] as const satisfies readonly CqlPanel[];

/** The symbol selector: a Grafana query variable and the viewer's drop-down (one partition). */
export const SYMBOL_VARIABLE = {
  name: 'symbol',
  label: 'Symbol',
  cql: 'SELECT symbol FROM symbols WHERE shard = 0',
} as const;

/**
 * The resolution selector: a custom Grafana variable and the viewer's drop-down. Its value names the candle
 * table (`candles_${resolution}`); every candle table has the columns the candle panels read.
 */
export const RESOLUTION_VARIABLE = {
  name: 'resolution',
  label: 'Resolution',
  values: RESOLUTIONS,
  default: '1m',
} as const;
