import type { RollupStore } from '../../shared/cassandra/rollup-store.ts';
import type { Candle } from '../../shared/market/aggregate.ts';
import { bucketOf, ROLLUP_LEVELS, rollBars } from '../../shared/market/rollup.ts';

export interface RollupDeps {
  readonly rollups: Pick<RollupStore, 'bars' | 'upsert' | 'delete'>;
  /** Files a finalize request for the minute, so a roll-up that failed is redone by the next run. */
  readonly requestFinalize: (symbol: string, minutes: Iterable<number>, origin: 'late') => Promise<void>;
}

/**
 * The finalizer's `afterMinute` hook: re-rolls the 5m, 15m, 1h and 1d candles holding a minute each time
 * that minute is (re-)finalized or emptied, level by level (each level reads the level below it, which this
 * hook has just written). A bucket left without minutes loses its candle.
 *
 * The minute's own candle and mark are already written when this runs, so the regular window would not
 * look at the minute again: a failure files a finalize request for it first (best effort), then fails the
 * run; the next run re-finalizes the minute and rolls again.
 */
export function rollupAfterMinute(deps: RollupDeps) {
  return async (symbol: string, minute: number, _candle: Candle | null): Promise<void> => {
    try {
      for (const level of ROLLUP_LEVELS) {
        const start = bucketOf(minute, level.resolution);
        const parts = await deps.rollups.bars(level.from, symbol, start, start + level.spanMs);
        const bar = rollBars(start, parts);
        if (bar) await deps.rollups.upsert(level, symbol, bar);
        else await deps.rollups.delete(level, symbol, start);
      }
    } catch (err) {
      await deps.requestFinalize(symbol, [minute], 'late').catch(() => {});
      throw err;
    }
  };
}
