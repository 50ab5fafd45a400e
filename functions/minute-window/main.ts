import { loadCassandraConfig } from '../../shared/cassandra/config.ts';
import { loadConfig } from '../../shared/config/env.ts';
import { hostSpec, loadOrExit, startFunction } from '../../shared/host/process.ts';
import { loadMarketConfig } from '../../shared/market/config.ts';
import { registerMetrics } from '../../shared/observability/metrics.ts';
import { minuteWindow } from './handler.ts';

const env = process.env;
const cfg = loadOrExit('minute-window', () => ({
  host: loadConfig(hostSpec, env),
  cassandra: loadCassandraConfig(env),
  market: loadMarketConfig(env),
}));

await startFunction({
  name: 'minute-window',
  ...cfg,
  build: ({ store, registry }) =>
    minuteWindow({
      store,
      finalizeHorizonS: cfg.market.finalizeHorizonS,
      finalizeLatenessS: cfg.market.finalizeLatenessS,
      maxFutureSkewS: cfg.market.maxFutureSkewS,
      metrics: registerMetrics(registry, ['lateTrades', 'windowDuplicates', 'replayedEvents']),
    }),
});
