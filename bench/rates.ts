/**
 * The pipeline's offered rates (BENCH_RATES): trades per second, or a share of the floor measured in the same
 * run (`60%`). The sustained line is a ratio to that floor, and the floor moves by a quarter within an
 * hour on the development VM (65,728 to 89,744/s on 2026-12-03), so fixed rates chosen for one day's floor can
 * miss the share they were meant to test on another: on a day whose floor was 59,671/s, 45,000/s asked for
 * 0.75 of it and nothing between 5,000 and 45,000/s asked for 0.6.
 */
export type RateSpec = { readonly tradesPerS: number } | { readonly floorPercent: number };

/** `1000` → 1,000 trades/s; `60%` → 60 % of the floor. */
export function parseRate(raw: string): RateSpec {
  const s = raw.trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(s);
  if (pct) {
    const floorPercent = Number(pct[1]);
    if (floorPercent <= 0 || floorPercent > 1000) throw new Error(`"${s}": a share of the floor is 0-1000 %`);
    return { floorPercent };
  }
  const n = Number(s);
  if (s === '' || !Number.isFinite(n) || n < 1)
    throw new Error(`"${s}": expected trades per second (≥ 1) or a share of the floor such as 60%`);
  return { tradesPerS: n };
}

/** How a rate was asked for, as printed before the floor is known. */
export const rateLabel = (r: RateSpec): string =>
  'floorPercent' in r ? `${r.floorPercent}%` : `${r.tradesPerS}`;

/** Shares of the floor are rounded up to 100 trades/s, so a rate kept up with is at least its share. */
const ROUND_TO = 100;

/** The offered rates in trades per second; shares of the floor need the floor of this run. */
export function resolveRates(specs: readonly RateSpec[], floorTradesPerS: number | undefined): number[] {
  return specs.map((r) => {
    if ('tradesPerS' in r) return r.tradesPerS;
    if (floorTradesPerS === undefined || !(floorTradesPerS > 0))
      throw new Error(
        `rate ${rateLabel(r)} is a share of the floor, and this run measures no floor (BENCH_FLOOR=0)`,
      );
    return Math.ceil((floorTradesPerS * r.floorPercent) / 100 / ROUND_TO) * ROUND_TO;
  });
}
