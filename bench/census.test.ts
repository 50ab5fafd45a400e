import { describe, expect, it } from 'vitest';
import { MINUTE_MS } from '../shared/market/time.ts';
import { type CensusStore, tradeCensus } from './census.ts';

const T0 = 1_700_000_080_000; // 40 s into a minute

/** Rows and counters (bigint, as MarketStore returns them) per symbol and minute, with a log of the minutes read. */
function fakeStore() {
  const rows = new Map<string, number>();
  const counters = new Map<string, number>();
  const reads: string[] = [];
  const key = (s: string, m: number) => `${s}@${m}`;
  const store: CensusStore = {
    async minuteTrades(symbol, minute) {
      reads.push(key(symbol, minute));
      return Array.from({ length: rows.get(key(symbol, minute)) ?? 0 });
    },
    async liveRange(symbol, from, to) {
      return [...counters]
        .map(([k, trades]) => ({
          s: k.split('@')[0]!,
          minute: Number(k.split('@')[1]),
          trades: BigInt(trades),
        }))
        .filter((r) => r.s === symbol && r.minute >= from && r.minute < to);
    },
  };
  const add = (s: string, m: number, stored: number, counted = stored) => {
    rows.set(key(s, m), (rows.get(key(s, m)) ?? 0) + stored);
    counters.set(key(s, m), (counters.get(key(s, m)) ?? 0) + counted);
  };
  return { store, add, reads };
}

describe('trade census', () => {
  it('adds stored rows and counted trades over symbols and minutes', async () => {
    const { store, add } = fakeStore();
    const m0 = T0 - 40_000;
    add('A', m0, 5);
    add('A', m0 + MINUTE_MS, 7, 6);
    add('B', m0 + MINUTE_MS, 3);
    add('C', m0, 100); // not asked for
    add('A', m0 - MINUTE_MS, 100); // before the start
    const census = tradeCensus(store, ['A', 'B'], T0);
    expect(await census(T0 + 30_000, T0)).toEqual({ stored: 15, counted: 14 });
  });

  it('reads a minute that ended before the cut once, and keeps reading the open ones', async () => {
    const { store, add, reads } = fakeStore();
    const m0 = T0 - 40_000;
    const census = tradeCensus(store, ['A'], T0);
    add('A', m0, 5);
    expect(await census(T0 + 10_000, T0)).toEqual({ stored: 5, counted: 5 });
    add('A', m0, 1); // minute m0 still open at the first count: read again
    add('A', m0 + MINUTE_MS, 2);
    expect(await census(T0 + 30_000, m0 + MINUTE_MS)).toEqual({ stored: 8, counted: 8 });
    add('A', m0, 1000); // m0 was final at the second count: not read again (nothing may write it)
    add('A', m0 + MINUTE_MS, 4);
    expect(await census(T0 + 90_000, m0 + MINUTE_MS)).toEqual({ stored: 12, counted: 12 });
    expect(reads.filter((r) => r === `A@${m0}`)).toHaveLength(2);
    expect(reads.filter((r) => r === `A@${m0 + MINUTE_MS}`)).toHaveLength(2);
  });
});
