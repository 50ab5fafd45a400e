import { defineFunction } from '../../shared/host/define.ts';
import { registerMetrics } from '../../shared/observability/metrics.ts';
import { minuteWindow } from './handler.ts';

export default defineFunction({
  name: 'minute-window',
  build: ({ store, market, registry }) =>
    minuteWindow({
      store,
      finalizeHorizonS: market.finalizeHorizonS,
      finalizeLatenessS: market.finalizeLatenessS,
      maxFutureSkewS: market.maxFutureSkewS,
      metrics: registerMetrics(registry, ['lateTrades', 'windowDuplicates', 'replayedEvents']),
    }),
});
