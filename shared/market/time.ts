export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

export const minuteOf = (tMs: number): number => Math.floor(tMs / MINUTE_MS) * MINUTE_MS;
export const hourOf = (tMs: number): number => Math.floor(tMs / HOUR_MS) * HOUR_MS;

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
