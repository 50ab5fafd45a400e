/**
 * A phase's receive -> row latencies, taken in one pass over the rows without keeping every row: counts are
 * exact (rows, rows per second and per event, rows over a goal, the slowest), the quantiles come from a
 * uniform sample of at most `cap` rows (reservoir sampling, Algorithm R). Up to `cap` rows the sample is every
 * row, so a 60 s phase's figures are exact as before; a 600 s phase at 30,000/s (18 million rows) held every
 * row as an object and ran the bench past 4.5 GB (docs/decisions.md, "Rates as shares of the floor").
 */

/** Upper bounds (trades per event, inclusive) of the size classes; the last class is open. */
const EVENT_SIZE_CLASSES = [20, 100] as const;

/** Rows kept for the quantiles: every row of a 60 s phase at 50,000/s, ~70 MB in typed arrays. */
const DEFAULT_SAMPLE_CAP = 3_500_000;

/** Nearest-rank p50 / p95 / p99 and max of ascending values (NaN when there are none). */
const quantiles = (sorted: ArrayLike<number>) => {
  const n = sorted.length;
  const at = (q: number) => (n > 0 ? sorted[Math.min(n - 1, Math.floor(q * n))]! : Number.NaN);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: n > 0 ? sorted[n - 1]! : Number.NaN };
};

interface Second {
  n: number;
  max: number;
  slow: number;
}

export interface RowLatenciesOptions {
  /** Rows over this are "slow" in the timeline. */
  readonly slowMs: number;
  /** Rows over this are counted per event size class (the goal at the rate). */
  readonly overMs: number;
  readonly cap?: number;
  /** Uniform in [0, 1); a test passes its own. */
  readonly random?: () => number;
}

export class RowLatencies {
  private readonly cap: number;
  private readonly random: () => number;
  private n = 0;
  private readonly seconds = new Map<number, Second>();
  private readonly slowBySecondOfMinute = new Array<number>(60).fill(0);
  private readonly eventIndex = new Map<string, number>();
  private readonly eventRows: number[] = [];
  private readonly eventOver: number[] = [];
  private at = new Float64Array(1024);
  private ms = new Float64Array(1024);
  private ev = new Int32Array(1024);
  private kept = 0;

  constructor(private readonly o: RowLatenciesOptions) {
    this.cap = Math.max(1, o.cap ?? DEFAULT_SAMPLE_CAP);
    this.random = o.random ?? Math.random;
  }

  /** Rows added. */
  get rows(): number {
    return this.n;
  }

  /** Whether the quantiles come from a sample rather than every row. */
  get sampled(): boolean {
    return this.n > this.kept;
  }

  /** One row: when the bridge received its trade (epoch ms), its latency and the event that carried it. */
  add(at: number, ms: number, event: string): void {
    this.n++;
    const sec = Math.floor(at / 1000);
    let s = this.seconds.get(sec);
    if (!s) {
      s = { n: 0, max: ms, slow: 0 };
      this.seconds.set(sec, s);
    }
    s.n++;
    if (ms > s.max) s.max = ms;
    if (ms > this.o.slowMs) {
      s.slow++;
      this.slowBySecondOfMinute[((sec % 60) + 60) % 60]!++;
    }
    let e = this.eventIndex.get(event);
    if (e === undefined) {
      e = this.eventRows.length;
      this.eventIndex.set(event, e);
      this.eventRows.push(0);
      this.eventOver.push(0);
    }
    this.eventRows[e]!++;
    if (ms > this.o.overMs) this.eventOver[e]!++;

    let slot = this.kept;
    if (this.kept < this.cap) {
      if (this.kept === this.at.length) this.grow();
      this.kept++;
    } else {
      slot = Math.floor(this.random() * this.n);
      if (slot >= this.cap) return;
    }
    this.at[slot] = at;
    this.ms[slot] = ms;
    this.ev[slot] = e;
  }

  /** p50 / p95 / p99 (of the sample) and the slowest row (of all), with how many rows and how many kept. */
  summary() {
    const q = quantiles(this.sortedMs((_) => true));
    // The slowest row of all, not of the sample: every second keeps its own.
    let max = Number.NaN;
    for (const s of this.seconds.values()) if (Number.isNaN(max) || s.max > max) max = s.max;
    return { samples: this.n, ...(this.sampled && { sampledRows: this.kept }), ...q, max };
  }

  /**
   * The seconds whose slowest row is slowest, and the slow rows by second of the minute (bunched at a few
   * seconds points at periodic work; spread evenly, at steady queueing or pauses). Per second the count,
   * the slowest and the slow are exact, the p50 is the sample's.
   */
  timeline(worst = 8) {
    const valuesBySecond = new Map<number, number[]>();
    for (let i = 0; i < this.kept; i++) {
      const sec = Math.floor(this.at[i]! / 1000);
      const a = valuesBySecond.get(sec);
      if (a) a.push(this.ms[i]!);
      else valuesBySecond.set(sec, [this.ms[i]!]);
    }
    const seconds = [...this.seconds.entries()].map(([sec, s]) => {
      const v = (valuesBySecond.get(sec) ?? []).sort((a, b) => a - b);
      return {
        second: new Date(sec * 1000).toISOString().slice(11, 19),
        n: s.n,
        p50: v.length > 0 ? Math.round(v[Math.floor(v.length / 2)]!) : null,
        max: Math.round(s.max),
        slow: s.slow,
      };
    });
    let slow = 0;
    for (const s of this.seconds.values()) slow += s.slow;
    return {
      slowMs: this.o.slowMs,
      slow,
      secondsWithSlow: seconds.filter((s) => s.slow > 0).length,
      seconds: seconds.length,
      worst: [...seconds].sort((a, b) => b.max - a.max).slice(0, worst),
      /** second of the minute -> slow rows, only where there are any. */
      slowBySecondOfMinute: Object.fromEntries(
        this.slowBySecondOfMinute.flatMap((n, i) => (n > 0 ? [[i, n] as const] : [])),
      ),
    };
  }

  /**
   * Latency by the size of the event that carried the row: a p99 made by a few large events (the feed's
   * bursts, all rows of one event sharing one latency) is a different problem from one made by every event's
   * queueing. Per class the events, rows, share and rows over the goal are exact; p50 / p99 the sample's.
   */
  byEventSize(bounds: readonly number[] = EVENT_SIZE_CLASSES) {
    const upTos = [...bounds, Number.POSITIVE_INFINITY];
    const classOfEvent = this.eventRows.map((rows) => upTos.findIndex((u) => rows <= u));
    return upTos.map((upTo, k) => {
      const from = k === 0 ? 1 : bounds[k - 1]! + 1;
      let events = 0;
      let rows = 0;
      let over = 0;
      for (let e = 0; e < classOfEvent.length; e++) {
        if (classOfEvent[e] !== k) continue;
        events++;
        rows += this.eventRows[e]!;
        over += this.eventOver[e]!;
      }
      const q = quantiles(this.sortedMs((i) => classOfEvent[this.ev[i]!] === k));
      const rounded = (v: number) => (rows > 0 ? Math.round(v) : null);
      return {
        tradesPerEvent: Number.isFinite(upTo) ? `${from}-${upTo}` : `>${from - 1}`,
        events,
        rows,
        rowShare: this.n > 0 ? Math.round((rows / this.n) * 1000) / 1000 : 0,
        p50: rounded(q.p50),
        p99: rounded(q.p99),
        [`over${this.o.overMs}ms`]: over,
      };
    });
  }

  private sortedMs(keep: (i: number) => boolean): Float64Array {
    const out = new Float64Array(this.kept);
    let k = 0;
    for (let i = 0; i < this.kept; i++) if (keep(i)) out[k++] = this.ms[i]!;
    return out.subarray(0, k).sort();
  }

  private grow(): void {
    const size = Math.min(this.cap, this.at.length * 2);
    const at = new Float64Array(size);
    const ms = new Float64Array(size);
    const ev = new Int32Array(size);
    at.set(this.at);
    ms.set(this.ms);
    ev.set(this.ev);
    this.at = at;
    this.ms = ms;
    this.ev = ev;
  }
}
