import type { Trade } from '../../shared/contract/index.ts';

/**
 * Gathers a symbol's trades from consecutive frames into one batch for up to a window (counted from the
 * batch's first trade), so that a busy symbol costs one CloudEvent per window instead of one per frame:
 * every event costs the dispatcher an HTTP delivery and the functions a counter update, a claim and a mark,
 * whatever it carries (docs/decisions.md, "Bridge coalescing").
 *
 * The window follows the load: `windowMs` from `fullRate` trades a second on (all symbols, the last second),
 * shorter in proportion below it. Where that would be shorter than `minWindowMs` the batch does not wait at
 * all: it goes out on the next timer turn with the frames that arrived together. Fewer, larger events only pay
 * off when the machine is busy; a quiet pipeline has the CPU for more events and gets its trades through
 * sooner. A window shorter than the feed's frame spacing saves no events and still costs its wait, so below
 * `minWindowMs` the wait is dropped, not shortened (docs/decisions.md, "Load-following window" and "No wait
 * when quiet").
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
  /** The longest window. 0: no coalescing, every frame's trades of a symbol are emitted at once (one event per frame and symbol). */
  readonly windowMs: number;
  /** The shortest window worth waiting for; where the rate gives less, no wait (default `windowMs`: a fixed window). */
  readonly minWindowMs?: number;
  /** Trades a second (all symbols) from which the window is `windowMs`; below, it shrinks in proportion. */
  readonly fullRate?: number;
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

/** Trades received over the last second, in ten 100 ms slots. */
export class RecentRate {
  private readonly slots = new Float64Array(10);
  private current = Number.NEGATIVE_INFINITY;

  add(n: number, nowMs: number): void {
    this.advance(nowMs);
    this.slots[this.current % 10]! += n;
  }

  perSecond(nowMs: number): number {
    this.advance(nowMs);
    let n = 0;
    for (const v of this.slots) n += v;
    return n;
  }

  private advance(nowMs: number): void {
    const slot = Math.floor(nowMs / 100);
    if (slot <= this.current) return;
    if (slot - this.current >= 10) this.slots.fill(0);
    else for (let k = this.current + 1; k <= slot; k++) this.slots[k % 10] = 0;
    this.current = slot;
  }
}

/**
 * The window for a new batch at `ratePerS` trades a second: proportional to the rate up to `windowMs`, and 0
 * (no wait) where that is under `minWindowMs`.
 */
export function windowFor(
  ratePerS: number,
  o: Pick<CoalescerOptions, 'windowMs' | 'minWindowMs' | 'fullRate'>,
) {
  const min = Math.min(o.minWindowMs ?? o.windowMs, o.windowMs);
  if (!o.fullRate || min >= o.windowMs) return o.windowMs;
  const w = Math.min(o.windowMs, (o.windowMs * ratePerS) / o.fullRate);
  return w < min ? 0 : w;
}

export class Coalescer {
  /** Pending batches, at most one per symbol (a symbol's next batch starts after this one is emitted). */
  private readonly pending = new Map<string, Pending>();
  private readonly rate = new RecentRate();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Number.POSITIVE_INFINITY;
  private closed = false;
  private lastWindowMs: number;

  constructor(private readonly opts: CoalescerOptions) {
    this.lastWindowMs = windowFor(0, opts);
  }

  /** Batches waiting for their window to end. */
  get size(): number {
    return this.pending.size;
  }

  /** The window the latest batch was given (ms). */
  get windowMs(): number {
    return this.lastWindowMs;
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
    let frameTrades = 0;
    for (const trades of bySymbol.values()) frameTrades += trades.length;
    this.rate.add(frameTrades, now);
    const windowMs = windowFor(this.rate.perSecond(now), this.opts);
    this.lastWindowMs = windowMs;
    let created = false;
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
          due: now + windowMs,
          bytes: this.opts.overheadBytes(symbol) + bytes,
        };
        this.pending.set(symbol, p);
        created = true;
      }
      if (p.trades.length >= this.opts.maxTrades || p.bytes >= maxBytes) {
        this.pending.delete(symbol);
        out.push(p);
      }
    }
    if (out.length > 0) this.opts.emit(out);
    if (created) this.armAt(now + windowMs, now);
  }

  /**
   * Keeps one timer, due when the first pending batch ends. A new batch may end before the others (its window
   * is shorter when the rate fell), so it moves the timer forward; a timer left by emitted batches fires idle.
   */
  private armAt(due: number, now: number): void {
    if (this.timer) {
      if (this.timerDue <= due) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, Math.ceil(due - now)));
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
    const now = performance.now();
    const out: CoalescedBatch[] = [];
    // Every batch is looked at: with a window that follows the load, a later batch may end first.
    let next = Number.POSITIVE_INFINITY;
    for (const [symbol, p] of this.pending) {
      if (p.due > now) {
        next = Math.min(next, p.due);
        continue;
      }
      this.pending.delete(symbol);
      out.push(p);
    }
    if (out.length > 0) this.opts.emit(out);
    if (next < Number.POSITIVE_INFINITY) this.armAt(next, now);
  }

  /** Emits every pending batch now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
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
