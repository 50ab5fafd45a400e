import { afterEach, describe, expect, it, vi } from 'vitest';
import { nowMs } from './record.ts';

describe('nowMs (the receive stamp other processes compare with their clocks)', () => {
  afterEach(() => vi.useRealTimers());

  it('agrees with Date.now() to within a millisecond', () => {
    const wall = Date.now();
    const t = nowMs();
    expect(t).toBeGreaterThanOrEqual(wall);
    expect(t - Date.now()).toBeLessThan(1);
  });

  it('follows a step of the system clock, as every other process does', () => {
    // Only Date moves: performance.now() goes on from its anchor, as after an NTP step or a VM resume.
    vi.useFakeTimers({ toFake: ['Date'] });
    for (const stepMs of [470, -2_000, 3_600_000]) {
      vi.setSystemTime(Date.now() + stepMs);
      expect(Math.abs(nowMs() - Date.now())).toBeLessThan(1);
    }
  });
});
