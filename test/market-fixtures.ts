import { Writable } from 'node:stream';
import { buildTradeBatchEvent } from '../shared/contract/event.ts';
import type { Trade, TradeBatchEvent } from '../shared/contract/types.ts';
import { createLogger } from '../shared/observability/logger.ts';
import { createRegistry, registerMetrics } from '../shared/observability/metrics.ts';

export const quietLog = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });

export function allMetrics() {
  return registerMetrics(createRegistry(), [
    'lateTrades',
    'lastTradeTime',
    'windowDuplicates',
    'replayedEvents',
    'finalizerRuns',
    'finalizerRunDuration',
    'finalizerMinutes',
    'finalizerCorrections',
    'finalizedMinute',
    'finalizerRequests',
    'finalizerPendingRequests',
    'counterOverflows',
  ]);
}

export const batch = (
  symbol: string,
  trades: Omit<Trade, 's' | 'c'>[],
  receivedAtMs = Date.now(),
): TradeBatchEvent =>
  buildTradeBatchEvent({ symbol, trades: trades.map((t) => ({ ...t, s: symbol, c: null })), receivedAtMs });

/** The candle a reader computes straight from the trades it knows were sent (ground truth), independently. */
export function expectedCandle(trades: readonly Trade[]) {
  const volumeE8 = trades.reduce((a, t) => a + Math.round(t.v * 1e8), 0);
  const notional = trades.reduce((a, t) => a + t.p * t.v, 0);
  const rawVolume = trades.reduce((a, t) => a + t.v, 0);
  return {
    open: trades[0]!.p,
    high: Math.max(...trades.map((t) => t.p)),
    low: Math.min(...trades.map((t) => t.p)),
    close: trades[trades.length - 1]!.p,
    trades: trades.length,
    volume: volumeE8 / 1e8,
    vwap: rawVolume > 0 ? notional / rawVolume : null,
  };
}
