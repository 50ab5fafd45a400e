export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

export const minuteOf = (tMs: number): number => Math.floor(tMs / MINUTE_MS) * MINUTE_MS;
export const hourOf = (tMs: number): number => Math.floor(tMs / HOUR_MS) * HOUR_MS;

/**
 * Partition bucket of `trades_10s` (migration 004): 10 s, so one symbol at 5,000 trades/s puts at most 50,000
 * rows in a partition, half the 100k guideline, and a minute is exactly six buckets.
 */
export const TRADE_BUCKET_MS = 10_000;
export const tradeBucketOf = (tMs: number): number => Math.floor(tMs / TRADE_BUCKET_MS) * TRADE_BUCKET_MS;
/** The buckets of the minute starting at `minuteMs`, oldest first. */
export const minuteBuckets = (minuteMs: number): number[] =>
  Array.from({ length: MINUTE_MS / TRADE_BUCKET_MS }, (_x, i) => minuteMs + i * TRADE_BUCKET_MS);
export const DAY_MS = 86_400_000;
/** Partition bucket of `price_seconds`: the UTC day (what CQL's floor(t, 1d) gives the dashboards). */
export const dayOf = (tMs: number): number => Math.floor(tMs / DAY_MS) * DAY_MS;
export const secondOf = (tMs: number): number => Math.floor(tMs / 1000) * 1000;

export interface FinalizeWindowSettings {
  readonly finalizeLatenessS: number;
  readonly finalizeHorizonS: number;
}

/** The newest minute that has closed at `nowMs` (exclusive end of the finalizer's window). */
export const closedBefore = (nowMs: number, s: FinalizeWindowSettings): number =>
  minuteOf(nowMs - s.finalizeLatenessS * 1000);

/**
 * The oldest minute the finalizer's regular window covers at `nowMs`, minute-aligned. The writers use the
 * same cut: a trade in a minute at or after it only marks the minute (`writes`), an older one files a
 * finalize request instead, because the window may already have moved past that minute.
 */
export const finalizeWindowStart = (nowMs: number, s: FinalizeWindowSettings): number =>
  closedBefore(nowMs, s) - s.finalizeHorizonS * 1000;
