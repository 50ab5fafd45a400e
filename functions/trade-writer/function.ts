import { defineFunction } from '../../shared/host/define.ts';
import { registerMetrics } from '../../shared/observability/metrics.ts';
import { tradeWriterSpec } from './config.ts';
import { TRADE_WRITER_METRICS, tradeWriter } from './handler.ts';

export default defineFunction({
  name: 'trade-writer',
  spec: tradeWriterSpec,
  build: ({ store, market, own, registry }) =>
    tradeWriter({
      store,
      mode: own.writeMode,
      finalizeHorizonS: market.finalizeHorizonS,
      finalizeLatenessS: market.finalizeLatenessS,
      maxFutureSkewS: market.maxFutureSkewS,
      metrics: registerMetrics(registry, TRADE_WRITER_METRICS),
    }),
});
