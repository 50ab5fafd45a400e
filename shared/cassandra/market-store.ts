import cassandra from 'cassandra-driver';
import type { Trade } from '../contract/types.ts';
import { MAX_CONDITION_LENGTH, MAX_CONDITIONS, MAX_SYMBOL_LENGTH } from '../contract/validate.ts';
import { pipelineError } from '../errors.ts';
import { type Candle, fitsInt64, type ScaledSums, type TradeRow } from '../market/aggregate.ts';
import { dayOf, hourOf, MINUTE_MS, minuteBuckets, secondOf, tradeBucketOf } from '../market/time.ts';
import { allRows } from './client.ts';

/**
 * Every query the functions make, in one place. Statements are prepared; only idempotent writes are marked
 * so, which lets the driver retry and speculate on them. Counter updates are never idempotent.
 */
const Q = {
  insertTrade:
    'INSERT INTO trades_10s (symbol, bucket, trade_time, event_id, idx, price, volume, conditions, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?',
  insertSecond:
    'INSERT INTO price_seconds (symbol, day, second, trade_time, price) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?',
  bumpWrites: 'UPDATE minute_live SET writes = writes + 1 WHERE symbol = ? AND minute = ?',
  addCounters:
    'UPDATE minute_live SET trades = trades + ?, volume_e8 = volume_e8 + ?, price_e8 = price_e8 + ?, notional_e6 = notional_e6 + ?, writes = writes + ? WHERE symbol = ? AND minute = ?',
  claimEvent:
    'INSERT INTO applied_events (event_id, applied_at, claim) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?',
  releaseEvent: 'DELETE FROM applied_events WHERE event_id = ? IF EXISTS',
  touchSymbol: 'UPDATE symbols SET last_trade_time = ?, updated_at = ? WHERE shard = 0 AND symbol = ?',
  listSymbols: 'SELECT symbol, last_trade_time FROM symbols WHERE shard = 0',
  liveRange:
    'SELECT minute, trades, volume_e8, price_e8, notional_e6, writes FROM minute_live WHERE symbol = ? AND minute >= ? AND minute < ?',
  liveRow:
    'SELECT minute, trades, volume_e8, price_e8, notional_e6, writes FROM minute_live WHERE symbol = ? AND minute = ?',
  candleMarks:
    'SELECT minute, source_writes, revision, trades, volume_e8, price_e8, notional_e6 FROM candles_1m WHERE symbol = ? AND minute >= ? AND minute < ?',
  deleteCandle: 'DELETE FROM candles_1m WHERE symbol = ? AND minute = ?',
  requestFinalize: 'INSERT INTO finalize_requests (shard, symbol, minute, origin) VALUES (0, ?, ?, ?)',
  finalizeRequests:
    'SELECT symbol, minute, origin, WRITETIME(origin) AS written FROM finalize_requests WHERE shard = 0',
  clearFinalizeRequest:
    'DELETE FROM finalize_requests USING TIMESTAMP ? WHERE shard = 0 AND symbol = ? AND minute = ?',
  acquireLease: 'UPDATE finalizer_state USING TTL ? SET holder = ? WHERE name = ? IF holder = null',
  renewLease: 'UPDATE finalizer_state USING TTL ? SET holder = ? WHERE name = ? IF holder = ?',
  releaseLease: 'UPDATE finalizer_state SET holder = null WHERE name = ? IF holder = ?',
  lastRunStarted: 'SELECT last_run_started FROM finalizer_state WHERE name = ?',
  recordRunStarted: 'UPDATE finalizer_state SET last_run_started = ? WHERE name = ? IF holder = ?',
  bucketTrades:
    'SELECT trade_time, event_id, idx, price, volume FROM trades_10s WHERE symbol = ? AND bucket = ?',
  /** Rows written before migration 004 (until its TTL empties `trades`). */
  legacyMinuteTrades:
    'SELECT trade_time, event_id, idx, price, volume FROM trades WHERE symbol = ? AND hour = ? AND trade_time >= ? AND trade_time < ?',
  upsertCandle:
    'INSERT INTO candles_1m (symbol, minute, open, high, low, close, trades, volume, vwap, avg_price, volume_e8, price_e8, notional_e6, first_trade_time, last_trade_time, source_writes, revision, finalized_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  deleteCountersBefore: 'DELETE FROM minute_live WHERE symbol = ? AND minute < ?',
} as const;

/**
 * Most estimated bytes in one unlogged batch: below Cassandra's batch_size_fail_threshold (50 KiB), with the
 * estimate an upper bound of what Cassandra counts (the rows' mutation data size).
 */
export const MAX_BATCH_BYTES = 40 * 1024;
/** A row's bytes beyond its strings: three timestamps, index, two doubles, TTL, cell and row headers. */
const ROW_FIXED_BYTES = 200;
const utf8 = (s: string | null) => (s === null ? 0 : Buffer.byteLength(s, 'utf8'));
/** Upper bound of the bytes a trade row adds to a batch, from its strings (the contract bounds them). */
export const tradeRowBytes = (t: Trade, eventId: string): number =>
  ROW_FIXED_BYTES + utf8(t.s) + utf8(eventId) + (t.c ?? []).reduce((n, c) => n + 8 + utf8(c), 0);
/** Event ids the bridge makes are 26 characters; 64 leaves room for any other producer's. */
const EVENT_ID_BYTES = 64;
/** The widest trade the contract accepts: longest symbol, most and longest conditions. */
export const WIDEST_TRADE: Trade = {
  s: 'S'.repeat(MAX_SYMBOL_LENGTH),
  p: 1,
  t: 0,
  v: 1,
  c: Array.from({ length: MAX_CONDITIONS }, () => 'C'.repeat(MAX_CONDITION_LENGTH)),
};
/** Upper bound of one `trades_10s` row within the contract's limits. */
export const MAX_TRADE_ROW_BYTES = tradeRowBytes(WIDEST_TRADE, 'E'.repeat(EVENT_ID_BYTES));

/** Splits statements into runs of at most `maxBytes` estimated bytes (a larger single one stays alone), in order. */
export function chunkByBytes<T>(items: readonly T[], bytesOf: (x: T) => number, maxBytes: number): T[][] {
  const out: T[][] = [];
  let run: T[] = [];
  let bytes = 0;
  for (const x of items) {
    const b = bytesOf(x);
    if (run.length > 0 && bytes + b > maxBytes) {
      out.push(run);
      run = [];
      bytes = 0;
    }
    run.push(x);
    bytes += b;
  }
  if (run.length > 0) out.push(run);
  return out;
}
const idem = { prepare: true, isIdempotent: true } as const;
const counter = { prepare: true, isIdempotent: false } as const;
const lwt = { prepare: true, serialConsistency: cassandra.types.consistencies.localSerial } as const;

export interface LiveRow extends ScaledSums {
  readonly minute: number;
  readonly writes: number;
}

export interface CandleMark {
  readonly minute: number;
  readonly sourceWrites: number;
  readonly revision: number;
  /** The exact sums the candle was computed from: live counters that differ from them need reconciling. */
  readonly sums: ScaledSums;
}

export interface FinalizeRequest {
  readonly symbol: string;
  readonly minute: number;
  /** Who asked: `late` (trade-writer) or `operator` (npm run refinalize). */
  readonly origin: string;
  /** Write time in microseconds, as Cassandra keeps it; clearing uses it so a newer request survives. */
  readonly written: cassandra.types.Long;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
/** A bigint/counter column read exactly: the driver's Long (or a BigInt) as a BigInt, never through Number. */
const big = (v: unknown): bigint => (v === null || v === undefined ? 0n : BigInt(String(v)));
/** A scaled sum as the driver's Long; a value past the signed 64-bit range is refused, never wrapped. */
function long(x: bigint, column: string): cassandra.types.Long {
  if (!fitsInt64(x))
    throw pipelineError('COUNTER_OVERFLOW', `${column} = ${x} is outside the signed 64-bit range`);
  return cassandra.types.Long.fromString(x.toString());
}
const ms = (v: unknown): number => (v instanceof Date ? v.getTime() : Number(v));

const liveOf = (r: cassandra.types.Row): LiveRow => ({
  minute: ms(r.minute),
  trades: big(r.trades),
  volumeE8: big(r.volume_e8),
  priceE8: big(r.price_e8),
  notionalE6: big(r.notional_e6),
  writes: num(r.writes),
});

export type WriteMode = 'batch' | 'concurrent';

/**
 * The driver's own value encoder (exported at run time, absent from its typings). A Buffer given as a bound
 * value is taken as that value already serialized (`Encoder.encode` passes it through), so what every row of
 * an event shares is encoded once per event with it, not once per row: at 20,000 trades/s the driver's
 * per-value encoding was 12 % of trade-writer's CPU, a third of it the event id and symbol text.
 */
const driverEncoder = new (
  cassandra as unknown as {
    Encoder: new (protocolVersion: number, options: object) => { encode(v: unknown, type: number): Buffer };
  }
).Encoder(4, {});
const { dataTypes } = cassandra.types;
export const encodeCell = (value: unknown, type: cassandra.types.dataTypes): Buffer =>
  driverEncoder.encode(value, type);

export class MarketStore {
  constructor(
    readonly client: cassandra.Client,
    private readonly opts: { tradeTtlS: number; appliedEventTtlS: number },
  ) {}

  /** Every row of a (single-partition) query, paged by the driver. */
  private async all(query: string, params: unknown[]): Promise<cassandra.types.Row[]> {
    return (await allRows(this.client, query, params, idem)).rows;
  }

  /**
   * Trade rows of one event, keyed on (event id, index), plus the last trade of each second it touched in
   * `price_seconds`: rewriting either is harmless. Batch mode sends one unlogged batch per partition (one
   * mutation each, no batchlog): usually one `trades_10s` bucket and one `price_seconds` day per event.
   */
  async writeTrades(
    eventId: string,
    trades: readonly Trade[],
    receivedAtMs: number,
    mode: WriteMode,
    indices: readonly number[] = trades.map((_t, i) => i),
  ): Promise<void> {
    // Absent values are left unset, never bound as null: a null is a tombstone cell in every row, twice the
    // cells to flush and compact. A redelivery writes the same absent value, so nothing is left to delete.
    const received = Number.isFinite(receivedAtMs)
      ? encodeCell(new Date(receivedAtMs), dataTypes.timestamp)
      : cassandra.types.unset;
    const event = encodeCell(eventId, dataTypes.text);
    const ttl = encodeCell(this.opts.tradeTtlS, dataTypes.int);
    const cells = new Map<string | number, Buffer>();
    const cellOf = (key: string | number, value: unknown, type: cassandra.types.dataTypes): Buffer => {
      const hit = cells.get(key);
      if (hit) return hit;
      const cell = encodeCell(value, type);
      cells.set(key, cell);
      return cell;
    };
    type Stmt = { query: string; params: unknown[]; bytes: number };
    const stmts: Stmt[] = [];
    /** Per second, the trade with the largest (time, index): the one `price_seconds` keeps. */
    const last = new Map<number, { t: Trade; idx: number }>();
    for (const [k, t] of trades.entries()) {
      const idx = indices[k]!;
      const bucket = tradeBucketOf(t.t);
      stmts.push({
        query: Q.insertTrade,
        bytes: tradeRowBytes(t, eventId),
        params: [
          cellOf(t.s, t.s, dataTypes.text),
          cellOf(bucket, new Date(bucket), dataTypes.timestamp),
          new Date(t.t),
          event,
          idx,
          t.p,
          t.v,
          t.c ?? cassandra.types.unset,
          received,
          ttl,
        ],
      });
      const sec = secondOf(t.t);
      const prev = last.get(sec);
      if (!prev || t.t > prev.t.t || (t.t === prev.t.t && idx > prev.idx)) last.set(sec, { t, idx });
    }
    for (const [sec, { t, idx }] of last) {
      // Write time = trade time in µs plus the index: the newest trade of the second wins in any arrival
      // order (a tie goes to the larger value, also deterministic), and a redelivery rewrites the same cell.
      const at = cassandra.types.Long.fromNumber(t.t * 1000 + Math.min(idx, 999));
      stmts.push({
        query: Q.insertSecond,
        params: [t.s, new Date(dayOf(sec)), new Date(sec), new Date(t.t), t.p, at],
        bytes: ROW_FIXED_BYTES + utf8(t.s),
      });
    }
    if (mode === 'concurrent') {
      await Promise.all(stmts.map((q) => this.client.execute(q.query, q.params, idem)));
      return;
    }
    // As few requests as fit: Cassandra's cost per request, not per row, is what a busy pipeline pays most
    // (bench `cost`). One unlogged batch may span an event's few partitions (its 10-s buckets and its day
    // of price_seconds); it is chunked below batch_size_fail_threshold, so a big event is never refused as
    // a "Batch too large", which no retry would change.
    const chunks = chunkByBytes(stmts, (q) => q.bytes, MAX_BATCH_BYTES);
    await Promise.all(
      chunks.map((qs) =>
        qs.length === 1
          ? this.client.execute(qs[0]!.query, qs[0]!.params, idem)
          : this.client.batch(
              qs.map(({ query, params }) => ({ query, params })),
              { ...idem, logged: false },
            ),
      ),
    );
  }

  /** Marks the minutes an event touched as changed, so the finalizer looks at them again. */
  async bumpWrites(symbol: string, minutes: Iterable<number>): Promise<void> {
    await Promise.all(
      [...minutes].map((m) => this.client.execute(Q.bumpWrites, [symbol, new Date(m)], counter)),
    );
  }

  async touchSymbol(symbol: string, lastTradeMs: number): Promise<void> {
    await this.client.execute(Q.touchSymbol, [new Date(lastTradeMs), new Date(), symbol], idem);
  }

  async listSymbols(): Promise<{ symbol: string; lastTradeTime: number }[]> {
    const rs = await this.client.execute(Q.listSymbols, [], idem);
    return rs.rows.map((r) => ({ symbol: r.symbol as string, lastTradeTime: ms(r.last_trade_time) }));
  }

  /**
   * Claims an event for counting; false when another delivery claimed it (a redelivery). The claim holds a
   * token of this call: Cassandra may re-run a conditional insert after contention and answer "not applied"
   * with the row its own first round wrote, which is this call's claim, not another delivery's.
   */
  async claimEvent(eventId: string, token = cassandra.types.Uuid.random()): Promise<boolean> {
    const rs = await this.client.execute(
      Q.claimEvent,
      [eventId, new Date(), token, this.opts.appliedEventTtlS],
      lwt,
    );
    if (rs.wasApplied()) return true;
    const holder = rs.first()?.get('claim') as cassandra.types.Uuid | null | undefined;
    return holder?.equals(token) ?? false;
  }

  async releaseEvent(eventId: string): Promise<void> {
    await this.client.execute(Q.releaseEvent, [eventId], lwt);
  }

  /** One counter batch for a symbol's minutes (single partition). `bumpWrites` marks the minute changed. */
  async addCounters(
    symbol: string,
    byMinute: ReadonlyMap<number, ScaledSums>,
    bumpWrites: boolean,
  ): Promise<void> {
    const queries = [...byMinute].map(([minute, s]) => ({
      query: Q.addCounters,
      params: [
        long(s.trades, 'trades'),
        long(s.volumeE8, 'volume_e8'),
        long(s.priceE8, 'price_e8'),
        long(s.notionalE6, 'notional_e6'),
        bumpWrites ? 1 : 0,
        symbol,
        new Date(minute),
      ],
    }));
    if (queries.length === 0) return;
    if (queries.length === 1) await this.client.execute(queries[0]!.query, queries[0]!.params, counter);
    else await this.client.batch(queries, { ...counter, counter: true });
  }

  async liveRange(symbol: string, fromMs: number, toMs: number): Promise<LiveRow[]> {
    const rows: LiveRow[] = [];
    for (const r of await this.all(Q.liveRange, [symbol, new Date(fromMs), new Date(toMs)])) {
      rows.push(liveOf(r));
    }
    return rows;
  }

  /** One minute's live row, read fresh (null when the minute has no counters). */
  async liveRow(symbol: string, minute: number): Promise<LiveRow | null> {
    const rs = await this.client.execute(Q.liveRow, [symbol, new Date(minute)], idem);
    const r = rs.rows[0];
    return r ? liveOf(r) : null;
  }

  async candleMarks(symbol: string, fromMs: number, toMs: number): Promise<Map<number, CandleMark>> {
    const out = new Map<number, CandleMark>();
    for (const r of await this.all(Q.candleMarks, [symbol, new Date(fromMs), new Date(toMs)])) {
      const minute = ms(r.minute);
      out.set(minute, {
        minute,
        sourceWrites: num(r.source_writes),
        revision: num(r.revision),
        sums: {
          trades: big(r.trades),
          volumeE8: big(r.volume_e8),
          priceE8: big(r.price_e8),
          notionalE6: big(r.notional_e6),
        },
      });
    }
    return out;
  }

  async deleteCandle(symbol: string, minute: number): Promise<void> {
    await this.client.execute(Q.deleteCandle, [symbol, new Date(minute)], idem);
  }

  /** Asks the finalizer to (re-)finalize these minutes whatever their age (idempotent). */
  async requestFinalize(
    symbol: string,
    minutes: Iterable<number>,
    origin: 'late' | 'operator',
  ): Promise<void> {
    await Promise.all(
      [...minutes].map((m) => this.client.execute(Q.requestFinalize, [symbol, new Date(m), origin], idem)),
    );
  }

  async finalizeRequests(): Promise<FinalizeRequest[]> {
    return (await this.all(Q.finalizeRequests, [])).map((r) => ({
      symbol: r.symbol as string,
      minute: ms(r.minute),
      origin: r.origin as string,
      written: r.written as cassandra.types.Long,
    }));
  }

  /** Deletes a request as of the write time it was read with: a request written after that survives. */
  async clearFinalizeRequest(req: FinalizeRequest): Promise<void> {
    await this.client.execute(Q.clearFinalizeRequest, [req.written, req.symbol, new Date(req.minute)], idem);
  }

  /** Takes the named lease for `ttlS` seconds if nobody holds it; false when someone does. */
  async acquireLease(name: string, holder: string, ttlS: number): Promise<boolean> {
    const rs = await this.client.execute(Q.acquireLease, [ttlS, holder, name], lwt);
    return rs.wasApplied();
  }

  /** Extends a lease this holder still has; false when it expired or someone else took it. */
  async renewLease(name: string, holder: string, ttlS: number): Promise<boolean> {
    const rs = await this.client.execute(Q.renewLease, [ttlS, holder, name, holder], lwt);
    return rs.wasApplied();
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.client.execute(Q.releaseLease, [name, holder], lwt);
  }

  async lastRunStarted(name: string): Promise<number | null> {
    const rs = await this.client.execute(Q.lastRunStarted, [name], idem);
    const v = rs.rows[0]?.last_run_started;
    return v ? ms(v) : null;
  }

  /** Records a complete run, only while `holder` still has the lease (false otherwise). */
  async recordRunStarted(name: string, holder: string, startedMs: number): Promise<boolean> {
    const rs = await this.client.execute(Q.recordRunStarted, [new Date(startedMs), name, holder], lwt);
    return rs.wasApplied();
  }

  /**
   * All trades of one minute in identity order: six one-partition slices of `trades_10s`, plus the minute's
   * slice of the pre-004 `trades` table (empty once its TTL has run out), merged by identity.
   */
  async minuteTrades(symbol: string, minute: number): Promise<TradeRow[]> {
    const toRow = (r: cassandra.types.Row): TradeRow => ({
      tradeTime: ms(r.trade_time),
      eventId: r.event_id as string,
      idx: r.idx as number,
      price: r.price as number,
      volume: r.volume as number,
    });
    const legacyParams = [symbol, new Date(hourOf(minute)), new Date(minute), new Date(minute + MINUTE_MS)];
    const [legacy, ...buckets] = await Promise.all([
      this.all(Q.legacyMinuteTrades, legacyParams),
      ...minuteBuckets(minute).map((b) => this.all(Q.bucketTrades, [symbol, new Date(b)])),
    ]);
    const rows = buckets.flat().map(toRow);
    if (legacy!.length === 0) return rows;
    const seen = new Set(rows.map((r) => `${r.eventId}\u0000${r.idx}`));
    for (const r of legacy!.map(toRow)) if (!seen.has(`${r.eventId}\u0000${r.idx}`)) rows.push(r);
    return rows.sort(
      (a, b) =>
        a.tradeTime - b.tradeTime ||
        (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0) ||
        a.idx - b.idx,
    );
  }

  async upsertCandle(
    symbol: string,
    minute: number,
    c: Candle,
    sourceWrites: number,
    revision: number,
  ): Promise<void> {
    await this.client.execute(
      Q.upsertCandle,
      [
        symbol,
        new Date(minute),
        c.open,
        c.high,
        c.low,
        c.close,
        c.trades,
        c.volume,
        c.vwap,
        c.avgPrice,
        long(c.sums.volumeE8, 'volume_e8'),
        long(c.sums.priceE8, 'price_e8'),
        long(c.sums.notionalE6, 'notional_e6'),
        new Date(c.firstTradeTime),
        new Date(c.lastTradeTime),
        sourceWrites,
        revision,
        new Date(),
      ],
      idem,
    );
  }

  async deleteCountersBefore(symbol: string, beforeMs: number): Promise<void> {
    await this.client.execute(Q.deleteCountersBefore, [symbol, new Date(beforeMs)], idem);
  }
}
