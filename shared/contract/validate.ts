import type { Trade } from './types.ts';

/**
 * The acceptance rule of the pipeline: one function, `acceptTrade`, run by the bridge on every trade of a
 * websocket frame before it is encoded, and by every function on every trade of an event after it is decoded.
 * A trade it accepts can be stored by trade-writer and counted by minute-window (a property test on the real
 * Cassandra holds it to that); a trade it refuses is dropped and counted by reason, never its neighbours.
 */

/** Why a trade was refused; used as a metric label, so the set is closed. */
export type TradeRejectReason =
  | 'not_object'
  | 'symbol'
  | 'unsubscribed'
  | 'price'
  | 'volume'
  | 'time'
  | 'future';

/** How a malformed optional field was repaired (the trade itself is kept); a metric label. */
export type TradeFix = 'conditions_null_items' | 'conditions_dropped';

/** Trade times before 2000 are a unit bug (seconds instead of milliseconds). */
export const MIN_TRADE_TIME_MS = Date.UTC(2000, 0, 1);
/** Default allowed clock skew into the future; configured by `MAX_FUTURE_SKEW_S` (shared/market/config.ts). */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 10_000;
export const MAX_SYMBOL_LENGTH = 64;
/**
 * Upper bounds that keep every scaled value of one trade (shared/market/aggregate.ts) far inside a signed
 * 64-bit counter: price_e8 <= 1e17, volume_e8 <= 1e18, notional_e6 <= 1e18. A minute then overflows only
 * past ~9 of the largest possible trades, which the overflow check reports instead of wrapping.
 * Real markets sit far below: BTC ~1e5 USD, a large meme-coin print ~1e10 units.
 */
export const MAX_PRICE = 1e9;
export const MAX_VOLUME = 1e10;
export const MAX_NOTIONAL = 1e12;
export const MAX_CONDITIONS = 32;
export const MAX_CONDITION_LENGTH = 16;
const PRINTABLE = /^[\x21-\x7e]+$/;

export interface AcceptancePolicy {
  /** Now, Unix ms (trades later than now + maxFutureSkewMs are refused as `future`). */
  readonly nowMs?: number;
  readonly maxFutureSkewMs?: number;
  /**
   * The allow-list of symbols (the bridge's subscriptions); absent = any symbol. Functions pass none: the
   * bridge is the only writer of the topic, and replays of old records must not depend on today's list.
   */
  readonly symbols?: ReadonlySet<string>;
  /** Every trade must carry this symbol (an event's subject, its partition key); another is refused as `symbol`. */
  readonly subject?: string;
}

export type TradeCheck =
  | { ok: true; trade: Trade; fix?: TradeFix }
  | { ok: false; reason: TradeRejectReason };

/** What acceptance did to a list of trades: kept trades (with their positions), refusals and repairs. */
export interface Acceptance {
  readonly trades: Trade[];
  /** Position of each kept trade in the input: the trade's identity index, stable across redeliveries. */
  readonly indices: number[];
  readonly rejects: Partial<Record<TradeRejectReason, number>>;
  readonly fixes: Partial<Record<TradeFix, number>>;
}

/**
 * Conditions are optional and never affect a number: null items are removed (Cassandra refuses nulls in a
 * collection), and a list that is not an array of short printable strings is dropped whole (`c: null`).
 * A list that is fine as it is comes back as the same array, not a copy: the rule runs on every trade of
 * every event, and the arrays it sees are fresh from `JSON.parse` or the Avro decoder. `fixOf` tells the
 * three outcomes apart from the input and the output, so nothing is allocated to say which it was.
 */
function conditionsOf(c: unknown): string[] | null {
  if (!Array.isArray(c) || c.length > MAX_CONDITIONS) return null;
  let nulls = 0;
  for (const item of c) {
    if (item === null || item === undefined) nulls += 1;
    else if (typeof item !== 'string' || item.length > MAX_CONDITION_LENGTH || !PRINTABLE.test(item))
      return null;
  }
  return nulls === 0 ? (c as string[]) : (c as unknown[]).filter((item): item is string => item != null);
}

function fixOf(input: unknown, kept: string[] | null): TradeFix | undefined {
  if (input === undefined || input === null || kept === input) return undefined;
  return kept === null ? 'conditions_dropped' : 'conditions_null_items';
}

/** The symbol that passed last: a feed's trades repeat a few symbols, so most checks are one comparison. */
let lastGoodSymbol = '';

/** The checks of `acceptTrade`: the fresh trade, or why it is refused. */
function checkTrade(x: unknown, policy: AcceptancePolicy, now: number): Trade | TradeRejectReason {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return 'not_object';
  const r = x as Record<string, unknown>;
  const { s, p, t, v } = r;
  if (typeof s !== 'string') return 'symbol';
  if (s !== lastGoodSymbol) {
    if (s.length === 0 || s.length > MAX_SYMBOL_LENGTH || !PRINTABLE.test(s)) return 'symbol';
    lastGoodSymbol = s;
  }
  if (policy.subject !== undefined && s !== policy.subject) return 'symbol';
  if (policy.symbols && !policy.symbols.has(s)) return 'unsubscribed';
  if (typeof p !== 'number' || !Number.isFinite(p) || p <= 0 || p > MAX_PRICE) return 'price';
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_VOLUME || p * v > MAX_NOTIONAL)
    return 'volume';
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < MIN_TRADE_TIME_MS) return 'time';
  if (t > now + (policy.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS)) return 'future';
  return { s, p, t, v, c: conditionsOf(r.c) };
}

/**
 * Strict check of one untrusted trade object (from a websocket frame, an Avro record or an HTTP JSON event).
 * Returns a fresh object holding only the schema's fields, so nothing unexpected travels further.
 */
export function acceptTrade(x: unknown, policy: AcceptancePolicy = {}): TradeCheck {
  const r = checkTrade(x, policy, policy.nowMs ?? Date.now());
  if (typeof r === 'string') return { ok: false, reason: r };
  const fix = fixOf((x as Record<string, unknown>).c, r.c as string[] | null);
  return fix ? { ok: true, trade: r, fix } : { ok: true, trade: r };
}

/** `acceptTrade` over a list, counting refusals and repairs. */
export function acceptTrades(items: readonly unknown[], policy: AcceptancePolicy = {}): Acceptance {
  const out: Acceptance = { trades: [], indices: [], rejects: {}, fixes: {} };
  const now = policy.nowMs ?? Date.now();
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const r = checkTrade(item, policy, now);
    if (typeof r === 'string') {
      out.rejects[r] = (out.rejects[r] ?? 0) + 1;
      continue;
    }
    out.trades.push(r);
    out.indices.push(i);
    const fix = fixOf((item as Record<string, unknown>).c, r.c as string[] | null);
    if (fix) out.fixes[fix] = (out.fixes[fix] ?? 0) + 1;
  }
  return out;
}
