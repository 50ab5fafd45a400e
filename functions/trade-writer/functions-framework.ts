// Entry for `functions-framework --target=trade-writer --source=functions/trade-writer/functions-framework.ts`.
import { registerFromEnv } from '../../shared/host/functions-framework.ts';
import { registerMetrics } from '../../shared/observability/metrics.ts';
import { tradeWriter } from './handler.ts';

registerFromEnv('trade-writer', ({ store, market, registry }) =>
  tradeWriter({
    store,
    mode: 'batch',
    finalizeHorizonS: market.finalizeHorizonS,
    finalizeLatenessS: market.finalizeLatenessS,
    maxFutureSkewS: market.maxFutureSkewS,
    metrics: registerMetrics(registry, ['lateTrades', 'replayedEvents']),
  }),
);
