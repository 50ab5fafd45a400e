import { acceptancePolicy, fromHttp, REPLAYED_EXTENSION } from '../../shared/contract/event.ts';
import type { TradeBatchEvent } from '../../shared/contract/types.ts';
import type { FunctionDef } from '../../shared/host/types.ts';
import { type ScaledSums, sumsByMinute } from '../../shared/market/aggregate.ts';
import { type FinalizeWindowSettings, finalizeWindowStart } from '../../shared/market/time.ts';
import type { Metrics } from '../../shared/observability/metrics.ts';

export interface MinuteWindowStore {
  claimEvent(eventId: string): Promise<boolean>;
  releaseEvent(eventId: string): Promise<void>;
  addCounters(symbol: string, byMinute: ReadonlyMap<number, ScaledSums>, bumpWrites: boolean): Promise<void>;
}

export interface MinuteWindowDeps extends FinalizeWindowSettings {
  readonly store: MinuteWindowStore;
  /** The acceptance rule's future skew (MAX_FUTURE_SKEW_S); default the contract's. */
  readonly maxFutureSkewS?: number;
  readonly metrics: Metrics<'lateTrades' | 'windowDuplicates' | 'replayedEvents'>;
  readonly now?: () => number;
}

/**
 * Adds an event's trades to the live per-minute counters, once. Counters are not idempotent, so the event id is
 * first claimed with a lightweight transaction; a redelivery finds the claim and is dropped. If the counter
 * write fails the claim is released so the retry counts it. The rare unknown outcome (a timeout after the
 * write landed) is repaired by the finalizer, which reconciles every closed minute to the exact values.
 * Trades in minutes older than the finalizer's window (the writers' shared cut) are not counted, only
 * reported: trade-writer files a finalize request for them and the finalizer reconciles the counters.
 */
export function minuteWindow(deps: MinuteWindowDeps): FunctionDef<TradeBatchEvent> {
  const now = deps.now ?? Date.now;
  const labels = { function: 'minute-window' };
  return {
    name: 'minute-window',
    decode: (headers, body) => fromHttp(headers, body, acceptancePolicy(deps.maxFutureSkewS)),
    async handle(ev) {
      if (ev.extensions[REPLAYED_EXTENSION] !== undefined) deps.metrics.replayedEvents.inc(labels);
      const accepted = { rejects: ev.rejects, fixes: ev.fixes };
      const cut = finalizeWindowStart(now(), deps);
      const byMinute = sumsByMinute(ev.trades);
      for (const [minute, sums] of byMinute) {
        if (minute < cut) {
          deps.metrics.lateTrades.inc(labels, Number(sums.trades));
          byMinute.delete(minute);
        }
      }
      if (byMinute.size === 0) return { trades: ev.trades.length, receivedAtMs: ev.receivedms, ...accepted };
      if (!(await deps.store.claimEvent(ev.id))) {
        deps.metrics.windowDuplicates.inc();
        return { receivedAtMs: ev.receivedms, ...accepted };
      }
      try {
        await deps.store.addCounters(ev.subject, byMinute, true);
      } catch (err) {
        await deps.store.releaseEvent(ev.id).catch(() => undefined);
        throw err;
      }
      return { trades: ev.trades.length, receivedAtMs: ev.receivedms, ...accepted };
    },
  };
}
