/**
 * Which phases of a pipeline run kept up with their offered rate, and the highest rate kept up with by its
 * phase and every lower one, as a share of the floor: the "sustained rate". A phase kept up when the functions stored and counted at least
 * `KEPT_UP_SHARE` of what the feed sent during it (so the backlog grew by at most 2 % of the phase's trades,
 * e.g. 1.2 s of a 60 s phase), it drained afterwards, and its census was exact.
 */
export const KEPT_UP_SHARE = 0.98;

export interface PhaseRates {
  readonly offeredTradesPerS: number;
  readonly sentTradesPerS: number;
  readonly storedTradesPerS: number;
  readonly countedTradesPerS: number;
  readonly drained: boolean;
  readonly exact: { readonly ok: boolean };
}

export function keptUp(p: PhaseRates): boolean {
  const need = KEPT_UP_SHARE * p.sentTradesPerS;
  return p.drained && p.exact.ok && p.storedTradesPerS >= need && p.countedTradesPerS >= need;
}

/**
 * After a phase: the pipeline has handled everything the feed sent when every trade is a row and neither
 * source has a record left uncommitted (a record is committed once its delivery reached an outcome).
 * minute-window's own count of trades is not asked for: an event whose counter write failed after its claim
 * held (a timeout of unknown outcome, seen on a cold Cassandra) is refused as a duplicate when redelivered and
 * reaches the counters through the finalizer's repair, never through that metric, so waiting for it never
 * ends. The census then checks the counters themselves.
 */
export function isDrained(
  sent: number,
  stored: number,
  lagBySource: Readonly<Record<string, number>>,
): boolean {
  return stored >= sent && Object.values(lagBySource).every((lag) => lag === 0);
}

export interface Sustained {
  /**
   * Highest offered rate kept up with by its phase and by every phase offered less; 0 when the lowest fell
   * behind. A phase that keeps up above one that fell behind does not raise it: a rate the pipeline only
   * sometimes holds is not sustained (2026-12-03 10:39: 50,000/s fell behind during a compaction, 55,000/s
   * after it kept up).
   */
  readonly tradesPerS: number;
  /** That rate over the floor's, two decimals; undefined without a floor. */
  readonly ofFloor: number | undefined;
  /** Offered rates that did not keep up. */
  readonly fellBehindAt: number[];
}

export function sustainedRate(phases: readonly PhaseRates[], floorTradesPerS?: number): Sustained {
  let tradesPerS = 0;
  for (const p of [...phases].sort((a, b) => a.offeredTradesPerS - b.offeredTradesPerS)) {
    if (!keptUp(p)) break;
    tradesPerS = p.offeredTradesPerS;
  }
  return {
    tradesPerS,
    ofFloor:
      floorTradesPerS && floorTradesPerS > 0
        ? Math.round((tradesPerS / floorTradesPerS) * 100) / 100
        : undefined,
    fellBehindAt: phases.filter((p) => !keptUp(p)).map((p) => p.offeredTradesPerS),
  };
}
