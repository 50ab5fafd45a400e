import { loadCassandraConfig } from '../../shared/cassandra/config.ts';
import { loadConfig } from '../../shared/config/env.ts';
import { hostSpec, loadOrExit, startFunction } from '../../shared/host/process.ts';
import { loadMarketConfig } from '../../shared/market/config.ts';
import { registerMetrics } from '../../shared/observability/metrics.ts';
import { tradeWriterSpec } from './config.ts';
import { tradeWriter } from './handler.ts';

const env = process.env;
const cfg = loadOrExit('trade-writer', () => ({
  host: loadConfig(hostSpec, env),
  cassandra: loadCassandraConfig(env),
  market: loadMarketConfig(env),
  own: loadConfig(tradeWriterSpec, env),
}));

await startFunction({
  name: 'trade-writer',
  ...cfg,
  build: ({ store, registry }) =>
    tradeWriter({
      store,
      mode: cfg.own.writeMode,
      finalizeHorizonS: cfg.market.finalizeHorizonS,
      finalizeLatenessS: cfg.market.finalizeLatenessS,
      maxFutureSkewS: cfg.market.maxFutureSkewS,
      metrics: registerMetrics(registry, ['lateTrades', 'replayedEvents']),
    }),
});
