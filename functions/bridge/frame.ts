import {
  type AcceptancePolicy,
  acceptTrades,
  type Trade,
  type TradeFix,
  type TradeRejectReason,
} from '../../shared/contract/index.ts';

/**
 * Parsing of one websocket message from the feed. Pure and total: any input (binary, non-JSON, huge, wrong
 * types, unknown frame types) yields a result, never an exception.
 */

/** Why a whole frame was refused (metric label). */
export type FrameRejectReason = 'binary' | 'too_large' | 'not_json' | 'not_object' | 'bad_data';

export type ParsedFrame =
  | {
      kind: 'trade';
      trades: Trade[];
      /** Trades refused by reason (the rest of the frame survives). */
      rejects: Partial<Record<TradeRejectReason, number>>;
      /** Optional fields repaired, by kind (those trades were kept). */
      fixes: Partial<Record<TradeFix, number>>;
    }
  | { kind: 'ping' }
  | { kind: 'error'; msg: string }
  | { kind: 'other'; type: string }
  | { kind: 'invalid'; reason: FrameRejectReason };

export interface FrameLimits {
  /** Frames larger than this are refused without parsing (default 1 MiB). */
  maxFrameBytes: number;
  /** The contract's acceptance rule settings: future skew and the subscribed symbols (the allow-list). */
  acceptance?: Omit<AcceptancePolicy, 'nowMs'>;
}

const clip = (s: string, n = 200): string => (s.length > n ? `${s.slice(0, n)}…` : s);

export function parseFrame(
  data: Buffer | ArrayBuffer | Buffer[] | string,
  isBinary: boolean,
  limits: FrameLimits,
  nowMs: number = Date.now(),
): ParsedFrame {
  if (isBinary) return { kind: 'invalid', reason: 'binary' };
  let text: string;
  if (typeof data === 'string') {
    if (data.length > limits.maxFrameBytes) return { kind: 'invalid', reason: 'too_large' };
    text = data;
  } else {
    const size = Array.isArray(data)
      ? data.reduce((n, b) => n + b.length, 0)
      : data instanceof ArrayBuffer
        ? data.byteLength
        : data.length;
    if (size > limits.maxFrameBytes) return { kind: 'invalid', reason: 'too_large' };
    const buf = Array.isArray(data)
      ? Buffer.concat(data)
      : data instanceof ArrayBuffer
        ? Buffer.from(data)
        : data;
    text = buf.toString('utf8');
  }
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'not_json' };
  }
  if (typeof x !== 'object' || x === null || Array.isArray(x))
    return { kind: 'invalid', reason: 'not_object' };
  const o = x as Record<string, unknown>;
  switch (o.type) {
    case 'trade': {
      if (!Array.isArray(o.data)) return { kind: 'invalid', reason: 'bad_data' };
      const { trades, rejects, fixes } = acceptTrades(o.data as unknown[], { ...limits.acceptance, nowMs });
      return { kind: 'trade', trades, rejects, fixes };
    }
    case 'ping':
      return { kind: 'ping' };
    case 'error':
      return {
        kind: 'error',
        msg: typeof o.msg === 'string' ? clip(o.msg) : clip(JSON.stringify(o.msg ?? null)),
      };
    default:
      return { kind: 'other', type: typeof o.type === 'string' ? clip(o.type, 40) : typeof o.type };
  }
}

/**
 * Splits a frame's trades per symbol, keeping frame order within each symbol and the order in which
 * symbols first appear.
 */
export function splitBySymbol(trades: readonly Trade[]): Map<string, Trade[]> {
  const out = new Map<string, Trade[]>();
  for (const t of trades) {
    const list = out.get(t.s);
    if (list) list.push(t);
    else out.set(t.s, [t]);
  }
  return out;
}
