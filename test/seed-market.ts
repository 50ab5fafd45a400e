import { minuteFinalizer } from '../functions/minute-finalizer/handler.ts';
import { rollupAfterMinute } from '../functions/minute-finalizer/rollups.ts';
import { minuteWindow } from '../functions/minute-window/handler.ts';
import { tradeWriter } from '../functions/trade-writer/handler.ts';
import type { MarketStore } from '../shared/cassandra/market-store.ts';
import { RollupStore } from '../shared/cassandra/rollup-store.ts';
import type { Trade } from '../shared/contract/types.ts';
import { MINUTE_MS } from '../shared/market/time.ts';
import { allMetrics, batch, quietLog } from './market-fixtures.ts';

/**
 * Test data for the panel tests, written through the real functions' handlers and store (trade-writer,
 * minute-window, minute-finalizer with its roll-up hook), so the panels read what the pipeline writes.
 */
export type SeedTrade = Omit<Trade, 's' | 'c'>;

export interface SeededMarket {
  /** Every trade sent, per symbol, in the order sent. */
  readonly trades: ReadonlyMap<string, readonly Trade[]>;
  /** Minutes that were finalized into candles_1m (all but the newest minute of each symbol). */
  readonly finalizedBefore: number;
}

/**
 * Sends each symbol's trades as one event per trade batch (a batch = trades sharing a millisecond stay
 * together) through trade-writer and minute-window, then runs minute-finalizer as of `finalizeAtMs`, which
 * finalizes every minute that ended 10 s before it.
 */
export async function seedMarket(
  store: MarketStore,
  bySymbol: Readonly<Record<string, readonly (readonly SeedTrade[])[]>>,
  finalizeAtMs: number,
): Promise<SeededMarket> {
  const metrics = allMetrics();
  const now = () => finalizeAtMs;
  const horizon = { finalizeHorizonS: 3 * 3600, finalizeLatenessS: 10 };
  const writer = tradeWriter({ store, mode: 'batch', ...horizon, metrics, now, symbolRefreshMs: 0 });
  const window = minuteWindow({ store, ...horizon, metrics, now });
  const trades = new Map<string, Trade[]>();
  for (const [symbol, batches] of Object.entries(bySymbol)) {
    for (const b of batches) {
      const ev = batch(symbol, [...b]);
      await writer.handle(ev, { log: quietLog });
      await window.handle(ev, { log: quietLog });
      trades.set(symbol, [...(trades.get(symbol) ?? []), ...ev.trades]);
    }
  }
  const finalizer = minuteFinalizer({
    store,
    ...horizon,
    counterRetentionS: 86400,
    metrics,
    now,
    afterMinute: rollupAfterMinute({
      rollups: new RollupStore(store.client),
      requestFinalize: (s, m, o) => store.requestFinalize(s, m, o),
    }),
  });
  await finalizer.run();
  return { trades, finalizedBefore: Math.floor((finalizeAtMs - 10_000) / MINUTE_MS) * MINUTE_MS };
}
