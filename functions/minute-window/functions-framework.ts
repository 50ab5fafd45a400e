// Entry for `functions-framework --target=minute-window --source=functions/minute-window/functions-framework.ts`.
import { registerFromEnv } from '../../shared/host/functions-framework.ts';
import { registerMetrics } from '../../shared/observability/metrics.ts';
import { minuteWindow } from './handler.ts';

registerFromEnv('minute-window', ({ store, market, registry }) =>
  minuteWindow({
    store,
    finalizeHorizonS: market.finalizeHorizonS,
    finalizeLatenessS: market.finalizeLatenessS,
    maxFutureSkewS: market.maxFutureSkewS,
    metrics: registerMetrics(registry, ['lateTrades', 'windowDuplicates', 'replayedEvents']),
  }),
);
