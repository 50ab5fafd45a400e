import type cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKeyspace, type TestKeyspace } from '../../test/cassandra.ts';
import { expectedCandle } from '../../test/market-fixtures.ts';
import { seedMarket } from '../../test/seed-market.ts';
import { createCassandraClient } from '../cassandra/client.ts';
import type { Trade } from '../contract/types.ts';
import { bucketOf } from '../market/rollup.ts';
import { dayOf, MINUTE_MS, minuteOf } from '../market/time.ts';
import {
  type CqlPanel,
  cqlPanel,
  joinOverview,
  MARKET_PANELS,
  OVERVIEW_QUERIES,
  type PanelResult,
  RESOLUTION_VARIABLE,
  renderCql,
  runCql,
  runPanel,
  SYMBOL_VARIABLE,
} from './index.ts';

/**
 * Ten minutes ago, moved before midnight UTC when the test range would cross it: the price panels read the
 * day partition of the range end (see PRICE_DAY).
 */
const M0 = ((m) =>
  dayOf(m - MINUTE_MS) === dayOf(m + 3 * MINUTE_MS) ? m : dayOf(m + 3 * MINUTE_MS) - 5 * MINUTE_MS)(
  minuteOf(Date.now()) - 10 * MINUTE_MS,
);
const BTC = 'BINANCE:BTCUSDT';
const QUOTED = "O'Q:X"; // a quote in the symbol: the rendered literal must hold it
const ETH = 'OV:ETH'; // trades an hour and a day ago: the overview's changes
const HOUR = 60 * MINUTE_MS;
const DAY = 24 * HOUR;
const vars = (symbol: string, fromMs = M0 - MINUTE_MS, toMs = M0 + 3 * MINUTE_MS) => ({
  symbol,
  fromMs,
  toMs,
});

let ks: TestKeyspace;
let client: cassandra.Client;
let sent: ReadonlyMap<string, readonly Trade[]>;

beforeAll(async () => {
  ks = await createTestKeyspace('mp_panels');
  client = createCassandraClient(ks.config, { applicationName: 'panels-test' });
  const seeded = await seedMarket(
    ks.store,
    {
      [BTC]: [
        [
          { p: 100, t: M0 + 1_000, v: 0.5 },
          { p: 101, t: M0 + 1_000, v: 0.25 },
        ],
        [{ p: 99, t: M0 + 30_000, v: 1 }],
        [{ p: 102, t: M0 + 61_000, v: 2 }],
        [{ p: 103, t: M0 + 62_000, v: 0.1 }],
        [{ p: 104, t: M0 + 125_000, v: 0.3 }],
      ],
      [QUOTED]: [[{ p: 7, t: M0 + 5_000, v: 1 }], [{ p: 8, t: M0 + 65_000, v: 3 }]],
      [ETH]: [
        [{ p: 40, t: M0 - DAY - 30_000, v: 1 }],
        [{ p: 50, t: M0 - 61 * MINUTE_MS, v: 1 }],
        [{ p: 55, t: M0 + 10_000, v: 2 }],
      ],
    },
    M0 + 130_000,
  );
  sent = seeded.trades;
});
afterAll(async () => {
  await client?.shutdown();
  await ks?.drop();
});

/** Rows as objects keyed by column name. */
const objects = (r: PanelResult) =>
  r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));
const trades = (symbol: string) => [...(sent.get(symbol) ?? [])];
const minuteTrades = (symbol: string, m: number) => trades(symbol).filter((t) => minuteOf(t.t) === m);
const run = (p: CqlPanel, symbol = BTC, range = vars(symbol)) => runPanel(client, p, range);

describe('every catalogue query on the real Cassandra', () => {
  it.each(MARKET_PANELS.map((p) => [p.id, p] as const))(
    '%s returns the columns its renderers need',
    async (_id, p) => {
      const r = await run(p);
      expect(r.columns).toEqual(p.columns.map((c) => c.name));
      expect(r.rows.length).toBeGreaterThan(0);
      for (const row of objects(r)) {
        expect(row.symbol).toBe(BTC);
        expect(typeof row[p.timeColumn]).toBe('number');
        for (const v of p.valueColumns) expect(typeof row[v]).toBe('number');
      }
    },
  );

  it('price: the last trade of every second in the range, newest first; volume per minute', async () => {
    const price = objects(await run(cqlPanel('price')));
    // Two trades in the same millisecond at M0 + 1 s: the larger index (101) is the second's last trade.
    expect(price).toEqual(
      [
        [125_000, 104],
        [62_000, 103],
        [61_000, 102],
        [30_000, 99],
        [1_000, 101],
      ].map(([dt, p]) => ({ symbol: BTC, second: M0 + dt!, price: p })),
    );
    const volume = objects(await run(cqlPanel('volume')));
    expect(volume).toEqual([
      { symbol: BTC, minute: M0 + 2 * MINUTE_MS, volume: expect.closeTo(0.3, 9) },
      { symbol: BTC, minute: M0 + MINUTE_MS, volume: expect.closeTo(2.1, 9) },
      { symbol: BTC, minute: M0, volume: expect.closeTo(1.75, 9) },
    ]);
  });

  it('the time range bounds the ticks', async () => {
    const r = objects(await run(cqlPanel('price'), BTC, vars(BTC, M0 + MINUTE_MS, M0 + 2 * MINUTE_MS)));
    expect(r.map((x) => x.price)).toEqual([103, 102]);
  });

  it('trades per minute from the live counters, including the open minute', async () => {
    const r = objects(await run(cqlPanel('tradesPerMinute')));
    expect(r).toEqual([
      { symbol: BTC, minute: M0 + 2 * MINUTE_MS, trades: 1 },
      { symbol: BTC, minute: M0 + MINUTE_MS, trades: 2 },
      { symbol: BTC, minute: M0, trades: 3 },
    ]);
  });

  it('latest-minute average price is computed in CQL from the counters (Cassandra 5 counter arithmetic)', async () => {
    const open = objects(await run(cqlPanel('minuteAvgPrice')));
    expect(open).toEqual([{ symbol: BTC, minute: M0 + 2 * MINUTE_MS, avg_price: 104 }]);
    const closed = objects(await run(cqlPanel('minuteAvgPrice'), BTC, vars(BTC, M0, M0 + 90_000)));
    expect(closed).toEqual([{ symbol: BTC, minute: M0 + MINUTE_MS, avg_price: expect.closeTo(102.5, 9) }]);
    const first = objects(await run(cqlPanel('minuteAvgPrice'), BTC, vars(BTC, M0, M0 + 59_999)));
    expect(first[0]!.avg_price).toBeCloseTo(100, 9);
  });

  it('latest-minute trade count and last trade', async () => {
    expect(objects(await run(cqlPanel('minuteTradeCount')))).toEqual([
      { symbol: BTC, minute: M0 + 2 * MINUTE_MS, trades: 1 },
    ]);
    expect(objects(await run(cqlPanel('lastTrade')))).toEqual([
      { symbol: BTC, trade_time: M0 + 125_000, price: 104 },
    ]);
    expect(objects(await run(cqlPanel('lastTrade'), BTC, vars(BTC, M0, M0 + 61_500)))).toEqual([
      { symbol: BTC, trade_time: M0 + 61_000, price: 102 },
    ]);
  });

  it('candles and past minutes match the exact candles of the closed minutes', async () => {
    const candles = objects(await run(cqlPanel('candles')));
    const table = objects(await run(cqlPanel('pastMinutes')));
    expect(candles.map((c) => c.minute)).toEqual([M0 + MINUTE_MS, M0]); // the open minute is not a candle yet
    expect(table.map((c) => c.minute)).toEqual([M0 + MINUTE_MS, M0]);
    for (const [i, m] of [M0 + MINUTE_MS, M0].entries()) {
      const ts = minuteTrades(BTC, m);
      const e = expectedCandle(ts);
      const ohlc = { open: e.open, high: e.high, low: e.low, close: e.close };
      expect(candles[i]).toMatchObject({
        ...ohlc,
        volume: expect.closeTo(e.volume, 9),
        vwap: expect.closeTo(e.vwap!, 9),
      });
      expect(table[i]).toMatchObject({
        ...ohlc,
        trades: e.trades,
        avg_price: expect.closeTo(ts.reduce((a, t) => a + t.p, 0) / ts.length, 9),
        vwap: expect.closeTo(e.vwap!, 9),
      });
    }
  });

  it('a symbol with a quote is one literal: its own rows, nobody else’s', async () => {
    const r = objects(await run(cqlPanel('price'), QUOTED));
    expect(r).toEqual([
      { symbol: QUOTED, second: M0 + 65_000, price: 8 },
      { symbol: QUOTED, second: M0 + 5_000, price: 7 },
    ]);
    expect(objects(await run(cqlPanel('pastMinutes'), QUOTED)).map((x) => x.close)).toEqual([8, 7]);
    expect(renderCql(cqlPanel('price').cql, vars(QUOTED))).toContain("symbol = 'O''Q:X'");
  });

  it('the symbol variable lists the symbols', async () => {
    const r = await runCql(client, SYMBOL_VARIABLE.cql);
    expect(r.columns).toEqual(['symbol']);
    expect(r.rows.map((x) => x[0]).sort()).toEqual([BTC, QUOTED, ETH].sort());
  });
});

describe('candles at every resolution on the real Cassandra', () => {
  it.each(RESOLUTION_VARIABLE.values.map((r) => [r]))(
    'candles and past candles at %s equal the candles of the trades of the closed minutes',
    async (resolution) => {
      const closed = trades(BTC).filter((t) => t.t < M0 + 2 * MINUTE_MS); // the open minute is no candle yet
      const buckets = [...new Set(closed.map((t) => bucketOf(t.t, resolution)))].sort((a, b) => b - a);
      const range = { ...vars(BTC, bucketOf(M0, resolution)), resolution };
      const candles = objects(await runPanel(client, cqlPanel('candles'), range));
      const table = objects(await runPanel(client, cqlPanel('pastMinutes'), range));
      expect(candles.map((c) => c.minute)).toEqual(buckets);
      expect(table.map((c) => c.minute)).toEqual(buckets);
      for (const [i, b] of buckets.entries()) {
        const e = expectedCandle(closed.filter((t) => bucketOf(t.t, resolution) === b));
        const ohlc = { open: e.open, high: e.high, low: e.low, close: e.close };
        expect(candles[i]).toMatchObject({ ...ohlc, volume: e.volume, vwap: expect.closeTo(e.vwap!, 8) });
        expect(table[i]).toMatchObject({ ...ohlc, trades: e.trades, volume: e.volume });
      }
    },
  );
});

describe('the market overview on the real Cassandra', () => {
  it('joins one bounded query per column into a row per symbol, most turnover first', async () => {
    const toMs = M0 + 130_000;
    const symbols = [QUOTED, ETH, BTC, 'NEVER:TRADED'];
    const results = Object.fromEntries(
      await Promise.all(
        OVERVIEW_QUERIES.map(
          async (q) =>
            [
              q.id,
              await runCql(client, renderCql(q.cql, { symbol: '', symbols, fromMs: toMs - HOUR, toMs })),
            ] as const,
        ),
      ),
    ) as Record<(typeof OVERVIEW_QUERIES)[number]['id'], PanelResult>;
    for (const q of OVERVIEW_QUERIES) expect(results[q.id].columns).toEqual(q.columns.map((c) => c.name));
    const rows = joinOverview(symbols, results, toMs);
    const turnover = (s: string) =>
      trades(s)
        .filter((t) => t.t > toMs - HOUR)
        .reduce((a, t) => a + t.p * t.v, 0);
    expect(rows.map((r) => r.symbol)).toEqual([BTC, ETH, QUOTED, 'NEVER:TRADED']);
    expect(rows[0]).toEqual({
      symbol: BTC,
      lastPrice: 104,
      lastTradeTime: M0 + 125_000,
      staleS: 5,
      change1h: null,
      change24h: null,
      trades1h: trades(BTC).length,
      volume1h: expect.closeTo(4.15, 9),
      turnover1h: expect.closeTo(turnover(BTC), 6),
    });
    expect(rows[1]).toEqual({
      symbol: ETH,
      lastPrice: 55,
      lastTradeTime: M0 + 10_000,
      staleS: 120,
      change1h: expect.closeTo(55 / 50 - 1, 12),
      change24h: expect.closeTo(55 / 40 - 1, 12),
      trades1h: 1,
      volume1h: 2,
      turnover1h: 110,
    });
    expect(rows[2]).toMatchObject({ symbol: QUOTED, lastPrice: 8, trades1h: 2, turnover1h: 31 });
    expect(rows[3]).toEqual({
      symbol: 'NEVER:TRADED',
      lastPrice: null,
      lastTradeTime: null,
      staleS: null,
      change1h: null,
      change24h: null,
      trades1h: 0,
      volume1h: 0,
      turnover1h: 0,
    });
  });
});
