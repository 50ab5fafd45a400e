import { describe, expect, it } from 'vitest';
import { envList } from './env.ts';
import { parseRate, rateLabel, resolveRates } from './rates.ts';

const rates = (raw: string) => envList('BENCH_RATES', parseRate, [], { BENCH_RATES: raw });

describe('offered rates', () => {
  it('are trades per second or shares of the floor', () => {
    expect(rates('1000, 5000,60%,72.5%')).toEqual([
      { tradesPerS: 1000 },
      { tradesPerS: 5000 },
      { floorPercent: 60 },
      { floorPercent: 72.5 },
    ]);
    expect(rates('1000,60%').map(rateLabel)).toEqual(['1000', '60%']);
  });

  it('refuse what is neither, naming the variable', () => {
    expect(() => rates('1000,60 %')).toThrow(/BENCH_RATES="1000,60 %": item 2/);
    expect(() => rates('0')).toThrow(/BENCH_RATES/);
    expect(() => rates('-5%')).toThrow(/BENCH_RATES/);
  });

  it("resolve shares against this run's floor, rounded up so a rate kept up with is at least its share", () => {
    // The 2026-12-03 13:00 run's floor: 60 % of it is 35,802.6/s.
    const resolved = resolveRates(rates('1000,5000,60%,70%'), 59_671);
    expect(resolved).toEqual([1000, 5000, 35_900, 41_800]);
    expect(resolved[2]! / 59_671).toBeGreaterThanOrEqual(0.6);
    expect(resolved[3]! / 59_671).toBeGreaterThanOrEqual(0.7);
  });

  it('need a floor only for shares', () => {
    expect(resolveRates(rates('1000,2500'), undefined)).toEqual([1000, 2500]);
    expect(() => resolveRates(rates('1000,60%'), undefined)).toThrow(
      /60% is a share of the floor.*BENCH_FLOOR=0/,
    );
  });
});
