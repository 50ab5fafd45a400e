import type cassandra from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { minuteWindow } from '../../functions/minute-window/handler.ts';
import { TRADE_WRITER_METRICS, tradeWriter } from '../../functions/trade-writer/handler.ts';
import type { Trade, TradeBatchEvent } from '../contract/types.ts';
import { loadMarketConfig } from '../market/config.ts';
import { createLogger } from '../observability/logger.ts';
import { createRegistry, registerMetrics } from '../observability/metrics.ts';
import { MAX_TRADE_ROW_BYTES, MarketStore } from './market-store.ts';
import { loadMigrations } from './migrate.ts';

/**
 * Issue 14: at 5,000 trades/s of one symbol no partition of any table may grow past ~100,000 rows or ~100 MB
 * in its lifetime. Proved from the schema (partition and clustering keys of the latest CREATE TABLEs) and the
 * statements the functions' own handlers send through MarketStore for a 22 s of that load across a minute and a day boundary:
 * every row written is placed in its partition by the schema's keys, and each partition's distinct rows are
 * counted. Rows are placed by trade time alone, so trades arriving late, or replayed, land in the same
 * partitions: the count over all trade times of a partition is its lifetime count.
 */

const RATE = 5_000;
/** Enough to fill two whole 10-s buckets after crossing a minute and a day boundary. */
const SECONDS = 22;
const MAX_ROWS = 100_000;
const MAX_BYTES = 100 * 1024 * 1024;

interface TableKeys {
  partition: string[];
  clustering: string[];
}

/** Partition and clustering columns of every table, as the migrations leave them. */
function schemaKeys(): Map<string, TableKeys> {
  const tables = new Map<string, TableKeys>();
  for (const m of loadMigrations()) {
    for (const stmt of m.statements) {
      const create = /^CREATE TABLE IF NOT EXISTS (\w+) \(([\s\S]*)\)\s*(WITH|$)/.exec(stmt);
      if (!create) continue;
      const inline = /^\s*(\w+) \w+ PRIMARY KEY/m.exec(create[2]!);
      const pk =
        /PRIMARY KEY \(\((.*?)\)(?:, (.*?))?\)/.exec(create[2]!) ??
        /PRIMARY KEY \((\w+)(?:, (.*?))?\)/.exec(create[2]!);
      const split = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()) : []);
      tables.set(
        create[1]!,
        inline
          ? { partition: [inline[1]!], clustering: [] }
          : { partition: split(pk![1]), clustering: split(pk![2]) },
      );
    }
  }
  return tables;
}

type Value = (params: readonly unknown[]) => unknown;

/** Column → its value (a positional marker's parameter or a literal) of an INSERT or UPDATE. */
function columnParams(query: string): { table: string; columns: Map<string, Value> } {
  const columns = new Map<string, Value>();
  const insert = /^INSERT INTO (\w+) \(([^)]*)\) VALUES/.exec(query);
  if (insert) {
    for (const [i, c] of insert[2]!.split(',').entries()) columns.set(c.trim(), (p) => p[i]);
    return { table: insert[1]!, columns };
  }
  const update = /^UPDATE (\w+)/.exec(query);
  if (!update) throw new Error(`not a write: ${query}`);
  // Each `col = ?` of the WHERE clause is the marker after all the markers before it.
  const where = query.indexOf(' WHERE ');
  const before = (query.slice(0, where).match(/\?/g) ?? []).length;
  let n = before;
  for (const m of query.slice(where).matchAll(/(\w+) = (\?|\d+)/g)) {
    const i = n;
    if (m[2] === '?') {
      columns.set(m[1]!, (p) => p[i]);
      n += 1;
    } else columns.set(m[1]!, () => m[2]);
  }
  return { table: update[1]!, columns };
}

const key = (v: unknown) => (v instanceof Date ? v.getTime() : String(v));

/** Records every write, per table and partition: the distinct rows and the largest bytes seen. */
function recorder(tables: Map<string, TableKeys>) {
  const partitions = new Map<string, Map<string, Set<string>>>();
  const record = (query: string, params: readonly unknown[]) => {
    if (!/^(INSERT|UPDATE)/.test(query)) return;
    const { table, columns } = columnParams(query);
    const keys = tables.get(table);
    if (!keys) throw new Error(`write to a table no migration creates: ${table}`);
    const at = (c: string) => {
      const value = columns.get(c);
      if (value === undefined) throw new Error(`${table}: no value for key column ${c} in ${query}`);
      return key(value(params));
    };
    const pkey = keys.partition.map(at).join('|');
    const row = keys.clustering.map(at).join('|');
    const byPartition = partitions.get(table) ?? new Map<string, Set<string>>();
    partitions.set(table, byPartition);
    const rows = byPartition.get(pkey) ?? new Set<string>();
    byPartition.set(pkey, rows);
    rows.add(row);
  };
  const result = { rows: [], wasApplied: () => true, pageState: null };
  const client = {
    execute: async (query: string, params: unknown[] = []) => {
      record(query, params);
      return result;
    },
    batch: async (qs: { query: string; params: unknown[] }[]) => {
      for (const q of qs) record(q.query, q.params);
      return result;
    },
  } as unknown as cassandra.Client;
  return { client, partitions };
}

/** One symbol at RATE trades/s for SECONDS, in events of 1–20 trades (Finnhub-like), each trade its own ms. */
function* events(startMs: number): Generator<TradeBatchEvent> {
  const total = RATE * SECONDS;
  let n = 0;
  let ev = 0;
  while (n < total) {
    const size = Math.min(1 + (ev % 20), total - n);
    const trades: Trade[] = Array.from({ length: size }, (_x, i) => ({
      s: 'BINANCE:BTCUSDT',
      p: 100_000 + ((n + i) % 97),
      t: startMs + Math.floor(((n + i) * 1000) / RATE),
      v: 0.001,
      c: ['1'],
    }));
    yield {
      id: `bound-${ev++}`,
      source: 'test',
      type: 'test',
      subject: 'BINANCE:BTCUSDT',
      time: new Date(trades[0]!.t).toISOString(),
      dataschema: '',
      datacontenttype: '',
      receivedms: trades[0]!.t,
      trades,
      indices: trades.map((_t, i) => i),
      rejects: {},
      fixes: {},
      data: Buffer.alloc(0),
      extensions: {},
    };
    n += size;
  }
}

describe('partitions stay bounded at 5,000 trades/s of one symbol (issue 14)', () => {
  it('no partition the functions write gets past 100,000 rows or 100 MB', { timeout: 120_000 }, async () => {
    const tables = schemaKeys();
    const { client, partitions } = recorder(tables);
    const market = loadMarketConfig({});
    const store = new MarketStore(client, market);
    // Start 2 s before midnight: every kind of bucket edge is crossed, then two whole 10-s buckets fill.
    const start = Date.UTC(2026, 10, 22, 23, 59, 58, 0);
    const now = () => start + SECONDS * 1000;
    const window = { finalizeHorizonS: market.finalizeHorizonS, finalizeLatenessS: market.finalizeLatenessS };
    const registry = createRegistry();
    const writer = tradeWriter({
      store,
      mode: 'batch',
      ...window,
      now,
      metrics: registerMetrics(registry, TRADE_WRITER_METRICS),
    });
    const counter = minuteWindow({
      store,
      ...window,
      now,
      metrics: registerMetrics(registry, ['lateTrades', 'windowDuplicates', 'replayedEvents']),
    });
    const ctx = { log: createLogger('partition-bounds', { level: 'warn' }) };
    for (const ev of events(start)) {
      await writer.handle(ev, ctx);
      await counter.handle(ev, ctx);
    }

    const largest = Object.fromEntries(
      [...partitions].map(([table, byPartition]) => [
        table,
        Math.max(...[...byPartition.values()].map((rows) => rows.size)),
      ]),
    );
    for (const [table, rows] of Object.entries(largest)) {
      expect({ table, rows: rows <= MAX_ROWS }).toEqual({ table, rows: true });
    }
    // What the trade rate drives: one row per trade, bucketed by 10 s; one row per second, bucketed by day.
    expect(largest.trades_10s).toBe(RATE * 10);
    expect(largest.price_seconds).toBeLessThanOrEqual(86_400);
    // The legacy tables are no longer written at all.
    expect(Object.keys(largest)).not.toContain('trades');
    expect(Object.keys(largest)).not.toContain('ticks');
    expect(largest.trades_10s! * MAX_TRADE_ROW_BYTES).toBeLessThan(MAX_BYTES);
    // The per-minute tables grow by one row per minute whatever the rate, partitioned by symbol: what they
    // hold at once is bounded by their retention (candles: TTL; live counters: range-deleted after
    // COUNTER_RETENTION_S), far below the guideline.
    const ddl = loadMigrations()
      .flatMap((m) => m.statements)
      .join('\n');
    const candleTtlS = Number(
      /TABLE IF NOT EXISTS candles_1m[\s\S]*?default_time_to_live = (\d+)/.exec(ddl)![1],
    );
    expect(candleTtlS / 60).toBeLessThanOrEqual(MAX_ROWS);
    expect(market.counterRetentionS / 60).toBeLessThanOrEqual(MAX_ROWS);
    expect(largest.minute_live).toBeLessThanOrEqual(Math.ceil(SECONDS / 60) + 1);
    // A price_seconds day holds at most 86,400 seconds whatever the rate: bounded by the clock, not the load.
    expect(tables.get('price_seconds')).toEqual({ partition: ['symbol', 'day'], clustering: ['second'] });
    expect(tables.get('trades_10s')).toEqual({
      partition: ['symbol', 'bucket'],
      clustering: ['trade_time', 'event_id', 'idx'],
    });
  });
});
