import { SYMBOLS, TIME_TO } from './cql.ts';
import type { PanelResult } from './run.ts';
import type { Column, DashboardLayout, Unit } from './types.ts';

/**
 * The market overview: every subscribed symbol in one table. Each column comes from one bounded query over
 * the symbols variable (`symbol IN (${symbols:sqlstring})`: one slice of each listed symbol's partition,
 * bounded by PER PARTITION LIMIT 1 or by the last hour); the rows are joined on the symbol, Grafana with its
 * `joinByField` transformation and the viewer with `joinOverview` below.
 */
export interface OverviewQuery {
  readonly id: string;
  readonly cql: string;
  readonly columns: readonly Column[];
  /** The clustering column the query bounds (for cqlProblems). */
  readonly clustering: string;
}

const symbol: Column = { name: 'symbol', type: 'text', label: 'Symbol' };
const ts = (name: string, label: string): Column => ({ name, type: 'timestamp', label });
const dbl = (name: string, label: string, unit: Unit = 'currencyUSD'): Column => ({
  name,
  type: 'double',
  label,
  unit,
});

export const OVERVIEW_QUERIES = [
  {
    id: 'last',
    clustering: 'second',
    cql: `SELECT symbol, trade_time AS last_trade_time, price AS last_price FROM price_seconds WHERE symbol IN (${SYMBOLS}) AND day = floor((timestamp)${TIME_TO}, 1d) AND second <= ${TIME_TO} PER PARTITION LIMIT 1`,
    columns: [symbol, ts('last_trade_time', 'Last trade'), dbl('last_price', 'Last price')],
  },
  {
    id: 'ago1h',
    clustering: 'minute',
    cql: `SELECT symbol, minute AS minute_1h, close AS close_1h FROM candles_1m WHERE symbol IN (${SYMBOLS}) AND minute <= ${TIME_TO} - 1h PER PARTITION LIMIT 1`,
    columns: [symbol, ts('minute_1h', 'Minute 1 h ago'), dbl('close_1h', 'Close 1 h ago')],
  },
  {
    id: 'ago24h',
    clustering: 'minute',
    cql: `SELECT symbol, minute AS minute_24h, close AS close_24h FROM candles_1m WHERE symbol IN (${SYMBOLS}) AND minute <= ${TIME_TO} - 24h PER PARTITION LIMIT 1`,
    columns: [symbol, ts('minute_24h', 'Minute 24 h ago'), dbl('close_24h', 'Close 24 h ago')],
  },
  {
    id: 'hour',
    clustering: 'minute',
    cql: `SELECT symbol, sum(trades) AS trades_1h, CAST(sum(volume_e8) AS double) / 100000000 AS volume_1h, CAST(sum(notional_e6) AS double) / 1000000 AS turnover_1h FROM minute_live WHERE symbol IN (${SYMBOLS}) AND minute > ${TIME_TO} - 1h AND minute <= ${TIME_TO} GROUP BY symbol`,
    columns: [
      symbol,
      { name: 'trades_1h', type: 'bigint', label: 'Trades 1 h', unit: 'short' },
      dbl('volume_1h', 'Volume 1 h', 'short'),
      dbl('turnover_1h', 'Turnover 1 h'),
    ],
  },
] as const satisfies readonly OverviewQuery[];

/** One row of the overview table. */
export interface OverviewRow {
  readonly symbol: string;
  readonly lastPrice: number | null;
  readonly lastTradeTime: number | null;
  /** Seconds since the last trade (null: no trade yet in the UTC day of the range end, see PRICE_DAY). */
  readonly staleS: number | null;
  /** Relative change of the last price against the close of the minute holding now − 1 h (0.01 = 1 %). */
  readonly change1h: number | null;
  readonly change24h: number | null;
  readonly trades1h: number;
  readonly volume1h: number;
  /** Σ price · volume over the last hour in the quote currency: comparable across symbols. */
  readonly turnover1h: number;
}

export const OVERVIEW_COLUMNS: readonly { key: keyof OverviewRow; label: string; unit: Unit | 'percent' }[] =
  [
    { key: 'symbol', label: 'Symbol', unit: 'none' },
    { key: 'lastPrice', label: 'Last price', unit: 'currencyUSD' },
    { key: 'change1h', label: 'Change 1 h', unit: 'percent' },
    { key: 'change24h', label: 'Change 24 h', unit: 'percent' },
    { key: 'trades1h', label: 'Trades 1 h', unit: 'short' },
    { key: 'volume1h', label: 'Volume 1 h', unit: 'short' },
    { key: 'turnover1h', label: 'Turnover 1 h', unit: 'currencyUSD' },
    { key: 'staleS', label: 'Last trade', unit: 's' },
  ];

const byName = (r: PanelResult | undefined) => {
  const out = new Map<string, Record<string, string | number | null>>();
  for (const row of r?.rows ?? []) {
    const o = Object.fromEntries(r!.columns.map((c, i) => [c, row[i] ?? null]));
    out.set(String(o.symbol), o);
  }
  return out;
};
const numOrNull = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const change = (last: number | null, then: number | null) =>
  last !== null && then !== null && then !== 0 ? last / then - 1 : null;

/**
 * Joins the overview queries' results on the symbol, one row per symbol asked for, sorted as a trader
 * scans a market: most turnover in the last hour first (the most active markets), then by symbol.
 */
export function joinOverview(
  symbols: readonly string[],
  results: Readonly<Record<(typeof OVERVIEW_QUERIES)[number]['id'], PanelResult | undefined>>,
  nowMs: number,
): OverviewRow[] {
  const last = byName(results.last);
  const h1 = byName(results.ago1h);
  const h24 = byName(results.ago24h);
  const hour = byName(results.hour);
  const rows = symbols.map((s): OverviewRow => {
    const lastPrice = numOrNull(last.get(s)?.last_price);
    const lastTradeTime = numOrNull(last.get(s)?.last_trade_time);
    return {
      symbol: s,
      lastPrice,
      lastTradeTime,
      staleS: lastTradeTime === null ? null : Math.max(0, (nowMs - lastTradeTime) / 1000),
      change1h: change(lastPrice, numOrNull(h1.get(s)?.close_1h)),
      change24h: change(lastPrice, numOrNull(h24.get(s)?.close_24h)),
      trades1h: numOrNull(hour.get(s)?.trades_1h) ?? 0,
      volume1h: numOrNull(hour.get(s)?.volume_1h) ?? 0,
      turnover1h: numOrNull(hour.get(s)?.turnover_1h) ?? 0,
    };
  });
  return rows.sort((a, b) => b.turnover1h - a.turnover1h || (a.symbol < b.symbol ? -1 : 1));
}

/** The overview dashboard (one table; its panel is built by grafana/overview.ts). */
export const OVERVIEW_DASHBOARD: Omit<DashboardLayout, 'rows'> = {
  uid: 'market-overview',
  title: 'Market overview',
  description:
    'Every subscribed symbol in one table: last price, change over 1 h and 24 h, trades, volume and ' +
    'turnover over the last hour, age of the last trade; most active first.',
  tags: ['market', 'cassandra', 'overview'],
  refresh: '10s',
  timeFrom: 'now-1h',
};
