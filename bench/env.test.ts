import { describe, expect, it } from 'vitest';
import { envNumber, envNumbers } from './env.ts';
import { floorSettingsFromEnv } from './floor.ts';

describe("the bench's numbers from the environment", () => {
  it('fall back when unset and read a valid value', () => {
    expect(envNumber('BENCH_X', 7, {}, {})).toBe(7);
    expect(envNumber('BENCH_X', 7, { min: 0 }, { BENCH_X: '0' })).toBe(0);
    expect(envNumbers('BENCH_RATES', [1], { min: 1 }, { BENCH_RATES: '1000, 2500' })).toEqual([1000, 2500]);
  });

  it('refuse a typo or a value out of range, naming the variable', () => {
    // Before: Number('6O') gave NaN, and a NaN warm-up ran no warm-up at all.
    expect(() => floorSettingsFromEnv({ BENCH_FLOOR_WARMUP_S: '6O' })).toThrow(/BENCH_FLOOR_WARMUP_S="6O"/);
    expect(() => floorSettingsFromEnv({ BENCH_FLOOR_HOLD_S: '-1' })).toThrow(/BENCH_FLOOR_HOLD_S/);
    expect(() => envNumbers('BENCH_RATES', [1], { min: 1 }, { BENCH_RATES: '1000,x' })).toThrow(
      /BENCH_RATES="1000,x": item 2/,
    );
  });
});
