import type { Trade } from '../../shared/contract/index.ts';

/**
 * Gathers a symbol's trades from consecutive frames into one batch for up to `windowMs` (counted from the
 * batch's first trade), so that a busy symbol costs one CloudEvent per window instead of one per frame:
 * every event costs the dispatcher an HTTP delivery and the functions a counter update, a claim and a mark,
 * whatever it carries (docs/decisions.md, "Bridge coalescing").
 *
 * A batch is emitted when its window ends, when the next frame's trades would take it past `maxTrades` or
 * `maxBytes` (an upper bound of the Kafka record, `tradeBytesMax` per trade plus the record's headers), or on
 * `flush()`. A single frame's trades are never split here: a frame that alone exceeds the limits is one batch,
 * as before coalescing (the broker's `max.message.bytes` is handled by split.ts when it refuses a record).
 *
 * Per-symbol order holds: a symbol's batches are emitted in the order their trades arrived. Batches of
 * different symbols are never mixed. The event id is made when the batch is emitted (`emit` builds the
 * record), so a trade's identity (event id, index) is fixed before the record enters the queue or the spool,
 * and redelivery stays idempotent exactly as for one event per frame.
 */
export interface CoalescedBatch {
  readonly symbol: string;
  readonly trades: Trade[];
  /** Receive time of the batch's first frame (fractional Unix ms): latency counts the wait in the window. */
  readonly receivedAt: number;
}

export interface CoalescerOptions {
  /** 0: no coalescing, every frame's trades of a symbol are emitted at once (one event per frame and symbol). */
  readonly windowMs: number;
  readonly maxTrades: number;
  /** Upper bound of one record's bytes; `undefined` from the function means no limit known. */
  readonly maxBytes: () => number;
  /** Record bytes beyond the trades (key, headers, framing) for a symbol, an upper bound. */
  readonly overheadBytes: (symbol: string) => number;
  /** Called with batches in arrival order per symbol. Must not throw. */
  readonly emit: (batches: CoalescedBatch[]) => void;
}

interface Pending {
  readonly symbol: string;
  readonly trades: Trade[];
  readonly receivedAt: number;
  readonly due: number;
  bytes: number;
}

/** An upper bound of one trade's bytes in the Avro value (union tags, varints at their widest, UTF-8 bytes). */
export function tradeBytesMax(t: Trade): number {
  let n = 1 + 8 + 5 + Buffer.byteLength(t.s) + 10 + 8;
  if (t.c) {
    n += 10;
    for (const c of t.c) n += 1 + (c === null ? 0 : 5 + Buffer.byteLength(c));
  }
  return n;
}

export class Coalescer {
  /** Pending batches in creation order, which is also the order of their deadlines. */
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: CoalescerOptions) {}

  /** Batches waiting for their window to end. */
  get size(): number {
    return this.pending.size;
  }

  /** Takes one frame's trades, already split by symbol (frame order within each symbol). */
  add(bySymbol: ReadonlyMap<string, Trade[]>, receivedAt: number): void {
    if (this.opts.windowMs <= 0 || this.closed) {
      const out: CoalescedBatch[] = [];
      for (const [symbol, trades] of bySymbol) out.push({ symbol, trades, receivedAt });
      if (out.length > 0) this.opts.emit(out);
      return;
    }
    const now = performance.now();
    const out: CoalescedBatch[] = [];
    const maxBytes = this.opts.maxBytes();
    for (const [symbol, trades] of bySymbol) {
      let bytes = 0;
      for (const t of trades) bytes += tradeBytesMax(t);
      let p = this.pending.get(symbol);
      if (p && (p.trades.length + trades.length > this.opts.maxTrades || p.bytes + bytes > maxBytes)) {
        this.pending.delete(symbol);
        out.push(p);
        p = undefined;
      }
      if (p) {
        for (const t of trades) p.trades.push(t);
        p.bytes += bytes;
      } else {
        p = {
          symbol,
          trades: [...trades],
          receivedAt,
          due: now + this.opts.windowMs,
          bytes: this.opts.overheadBytes(symbol) + bytes,
        };
        this.pending.set(symbol, p);
      }
      if (p.trades.length >= this.opts.maxTrades || p.bytes >= maxBytes) {
        this.pending.delete(symbol);
        out.push(p);
      }
    }
    if (out.length > 0) this.opts.emit(out);
    this.arm(now);
  }

  private arm(now: number): void {
    if (this.timer || this.pending.size === 0) return;
    const first = this.pending.values().next().value as Pending;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, Math.ceil(first.due - now)));
  }

  private onTimer(): void {
    this.timer = undefined;
    const now = performance.now();
    const out: CoalescedBatch[] = [];
    for (const [symbol, p] of this.pending) {
      if (p.due > now) break;
      this.pending.delete(symbol);
      out.push(p);
    }
    if (out.length > 0) this.opts.emit(out);
    this.arm(now);
  }

  /** Emits every pending batch now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const out = [...this.pending.values()];
    this.pending.clear();
    this.opts.emit(out);
  }

  /** Emits every pending batch; later frames are emitted at once (shutdown: nothing may wait for a timer). */
  close(): void {
    this.closed = true;
    this.flush();
  }
}
