import { describe, expect, it } from 'vitest';
import { keptUp, sustainedRate } from './sustained.ts';

const phase = (
  offered: number,
  stored: number,
  counted = stored,
  more: Partial<{ drained: boolean; ok: boolean }> = {},
) => ({
  offeredTradesPerS: offered,
  sentTradesPerS: offered,
  storedTradesPerS: stored,
  countedTradesPerS: counted,
  drained: more.drained ?? true,
  exact: { ok: more.ok ?? true },
});

describe('sustained rate', () => {
  it('a phase keeps up when stored and counted are both within 2 % of what was sent, drained and exact', () => {
    expect(keptUp(phase(20_000, 20_319, 20_164))).toBe(true);
    expect(keptUp(phase(10_000, 9_800))).toBe(true);
    // The run of 2026-12-02 03:06: at 25,000/s trade rows fell behind while the counters kept up.
    expect(keptUp(phase(25_000, 19_276, 25_165))).toBe(false);
    expect(keptUp(phase(10_000, 10_000, 9_700))).toBe(false);
    expect(keptUp(phase(10_000, 10_000, 10_000, { drained: false }))).toBe(false);
    expect(keptUp(phase(10_000, 10_000, 10_000, { ok: false }))).toBe(false);
  });

  it('is the highest rate kept up with, as a share of the floor, whatever the phase order', () => {
    const s = sustainedRate(
      [phase(25_000, 19_276, 25_165), phase(15_000, 15_060), phase(20_000, 20_319)],
      32_733,
    );
    expect(s).toEqual({ tradesPerS: 20_000, ofFloor: 0.61, fellBehindAt: [25_000] });
  });

  it('is 0 when no phase kept up, and has no share without a floor', () => {
    expect(sustainedRate([phase(5_000, 700)])).toEqual({
      tradesPerS: 0,
      ofFloor: undefined,
      fellBehindAt: [5_000],
    });
  });
});
