import type { WriteMode } from '../../shared/cassandra/market-store.ts';
import { acceptancePolicy, fromHttp, REPLAYED_EXTENSION } from '../../shared/contract/event.ts';
import type { TradeBatchEvent } from '../../shared/contract/types.ts';
import type { FunctionDef } from '../../shared/host/types.ts';
import { type FinalizeWindowSettings, finalizeWindowStart, minuteOf } from '../../shared/market/time.ts';
import type { Metrics } from '../../shared/observability/metrics.ts';

export interface TradeWriterStore {
  writeTrades(
    eventId: string,
    trades: TradeBatchEvent['trades'],
    receivedAtMs: number,
    mode: WriteMode,
    indices?: readonly number[],
  ): Promise<void>;
  bumpWrites(symbol: string, minutes: Iterable<number>): Promise<void>;
  requestFinalize(symbol: string, minutes: Iterable<number>, origin: 'late'): Promise<void>;
  touchSymbol(symbol: string, lastTradeMs: number): Promise<void>;
}

/** The catalogue metrics trade-writer reports (registered by whoever hosts it). */
export const TRADE_WRITER_METRICS = ['lateTrades', 'replayedEvents', 'lastTradeTime'] as const;

export interface TradeWriterDeps extends FinalizeWindowSettings {
  readonly store: TradeWriterStore;
  readonly mode: WriteMode;
  /** The acceptance rule's future skew (MAX_FUTURE_SKEW_S); default the contract's. */
  readonly maxFutureSkewS?: number;
  readonly metrics: Metrics<(typeof TRADE_WRITER_METRICS)[number]>;
  readonly now?: () => number;
  /** How often one process refreshes a symbol's entry in the `symbols` table. */
  readonly symbolRefreshMs?: number;
}

/**
 * Stores every trade of an event as its own row keyed on (event id, index), then marks the touched minutes
 * as changed for the finalizer. Rows first, mark second: a finalizer that read the mark before the rows
 * existed sees the mark move again and re-finalizes. A minute older than the finalizer's window (same cut,
 * `finalizeWindowStart`) gets a finalize request instead, so late and replayed trades of any age reach
 * their candle.
 */
export function tradeWriter(deps: TradeWriterDeps): FunctionDef<TradeBatchEvent> {
  const now = deps.now ?? Date.now;
  const refreshMs = deps.symbolRefreshMs ?? 10_000;
  const touched = new Map<string, number>();
  /** Newest trade written per symbol: the gauge never goes back for a late or replayed batch. */
  const newest = new Map<string, number>();
  const labels = { function: 'trade-writer' };

  return {
    name: 'trade-writer',
    decode: (headers, body) => fromHttp(headers, body, acceptancePolicy(deps.maxFutureSkewS)),
    async handle(ev) {
      if (ev.extensions[REPLAYED_EXTENSION] !== undefined) deps.metrics.replayedEvents.inc(labels);
      await deps.store.writeTrades(ev.id, ev.trades, ev.receivedms, deps.mode, ev.indices);
      const last = Math.max(...ev.trades.map((t) => t.t));
      if (last > (newest.get(ev.subject) ?? Number.NEGATIVE_INFINITY)) {
        newest.set(ev.subject, last);
        deps.metrics.lastTradeTime.set({ ...labels, symbol: ev.subject }, last / 1000);
      }
      const cut = finalizeWindowStart(now(), deps);
      const minutes = new Set<number>();
      const lateMinutes = new Set<number>();
      let late = 0;
      for (const t of ev.trades) {
        const m = minuteOf(t.t);
        if (m >= cut) minutes.add(m);
        else {
          lateMinutes.add(m);
          late += 1;
        }
      }
      if (late > 0) deps.metrics.lateTrades.inc(labels, late);
      await Promise.all([
        deps.store.bumpWrites(ev.subject, minutes),
        deps.store.requestFinalize(ev.subject, lateMinutes, 'late'),
      ]);
      const lastTouch = touched.get(ev.subject) ?? 0;
      if (now() - lastTouch >= refreshMs) {
        await deps.store.touchSymbol(ev.subject, last);
        touched.set(ev.subject, now());
      }
      return { trades: ev.trades.length, receivedAtMs: ev.receivedms, rejects: ev.rejects, fixes: ev.fixes };
    },
  };
}
