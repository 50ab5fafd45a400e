import { describe, expect, it } from 'vitest';
import { loadProfile } from '../dev/replay-feed/profiles.ts';
import { MINUTE_MS, minuteOf } from '../shared/market/time.ts';
import { censusMinutes, eventSource } from './floor.ts';

describe("the floor's census", () => {
  it('reads every minute its trades were written to, also when it starts just after a minute boundary', () => {
    const start = 29_000_000 * MINUTE_MS + 100;
    const next = eventSource(loadProfile('finnhub4'), 7);
    const times: number[] = [];
    for (let now = start; now < start + 2_000; now += 5) {
      for (const t of next(25, now)) times.push(t.t);
    }
    const earliest = Math.min(...times);
    // The premise: out-of-order trades of the first events are older than the start, here in the minute before.
    expect(minuteOf(earliest)).toBeLessThan(minuteOf(start));
    const [from, to] = censusMinutes(earliest, start + 2_000);
    for (const t of times) {
      expect(t).toBeGreaterThanOrEqual(from);
      expect(t).toBeLessThan(to);
    }
  });
});
