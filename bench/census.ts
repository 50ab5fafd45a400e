import { MINUTE_MS, minuteOf } from '../shared/market/time.ts';

/** The two reads a census needs, as MarketStore makes them (so it follows the schema). */
export interface CensusStore {
  minuteTrades(symbol: string, minute: number): Promise<readonly unknown[]>;
  liveRange(
    symbol: string,
    fromMs: number,
    toMs: number,
  ): Promise<readonly { minute: number; trades: number | bigint }[]>;
}

/**
 * Counts the trade rows stored and the trades counted in the live counters of some symbols since `fromMs`,
 * exactly, by reading every minute. A minute that ended before `finalBeforeMs` cannot change any more (no
 * trade is being offered for it) and is read once: later counts only read the minutes after it.
 */
export function tradeCensus(store: CensusStore, symbols: readonly string[], fromMs: number) {
  const final = new Map<string, { stored: number; counted: number }>();
  return async (toMs: number, finalBeforeMs: number): Promise<{ stored: number; counted: number }> => {
    let stored = 0;
    let counted = 0;
    for (const symbol of symbols) {
      const live = new Map<number, number>();
      for (const r of await store.liveRange(symbol, minuteOf(fromMs), minuteOf(toMs) + MINUTE_MS))
        live.set(r.minute, Number(r.trades));
      for (let m = minuteOf(fromMs); m <= minuteOf(toMs); m += MINUTE_MS) {
        const key = `${symbol}\u0000${m}`;
        let c = final.get(key);
        if (!c) {
          c = { stored: (await store.minuteTrades(symbol, m)).length, counted: live.get(m) ?? 0 };
          if (m + MINUTE_MS <= finalBeforeMs) final.set(key, c);
        }
        stored += c.stored;
        counted += c.counted;
      }
    }
    return { stored, counted };
  };
}
