import type { Trade } from './types.ts';

/** Why a trade was refused; used as a metric label, so the set is closed. */
export type TradeRejectReason = 'not_object' | 'symbol' | 'price' | 'volume' | 'time' | 'conditions';

/** Trade times outside this window are refused: before 2000 or more than a day ahead is a unit or clock bug. */
export const MIN_TRADE_TIME_MS = Date.UTC(2000, 0, 1);
export const MAX_FUTURE_SKEW_MS = 24 * 3600 * 1000;
export const MAX_SYMBOL_LENGTH = 64;
const MAX_CONDITIONS = 32;

export type TradeCheck = { ok: true; trade: Trade } | { ok: false; reason: TradeRejectReason };

/**
 * Strict check of one untrusted trade object (from a websocket frame or an HTTP JSON event).
 * Returns a fresh object holding only the schema's fields, so nothing unexpected travels further.
 */
export function checkTrade(x: unknown, nowMs: number = Date.now()): TradeCheck {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return { ok: false, reason: 'not_object' };
  const r = x as Record<string, unknown>;
  const { s, p, t, v } = r;
  if (typeof s !== 'string' || s.length === 0 || s.length > MAX_SYMBOL_LENGTH || !/^[\x21-\x7e]+$/.test(s)) {
    return { ok: false, reason: 'symbol' };
  }
  if (typeof p !== 'number' || !Number.isFinite(p) || p <= 0) return { ok: false, reason: 'price' };
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return { ok: false, reason: 'volume' };
  if (
    typeof t !== 'number' ||
    !Number.isSafeInteger(t) ||
    t < MIN_TRADE_TIME_MS ||
    t > nowMs + MAX_FUTURE_SKEW_MS
  ) {
    return { ok: false, reason: 'time' };
  }
  const c = r.c;
  let conditions: (string | null)[] | null = null;
  if (c !== undefined && c !== null) {
    if (!Array.isArray(c) || c.length > MAX_CONDITIONS) return { ok: false, reason: 'conditions' };
    for (const item of c) {
      if (item !== null && (typeof item !== 'string' || item.length > 16))
        return { ok: false, reason: 'conditions' };
    }
    conditions = c as (string | null)[];
  }
  return { ok: true, trade: { s, p, t, v, c: conditions } };
}
