import { loadCassandraConfig } from '../../shared/cassandra/config.ts';
import { loadConfig } from '../../shared/config/env.ts';
import { hostSpec, loadOrExit, startFunction } from '../../shared/host/process.ts';
import { loadMarketConfig } from '../../shared/market/config.ts';
import { registerMetrics } from '../../shared/observability/metrics.ts';
import { FINALIZER_METRICS, minuteFinalizer } from './handler.ts';

const env = process.env;
const cfg = loadOrExit('minute-finalizer', () => ({
  host: loadConfig(hostSpec, env),
  cassandra: loadCassandraConfig(env),
  market: loadMarketConfig(env),
}));

await startFunction({
  name: 'minute-finalizer',
  ...cfg,
  build: ({ store, registry }) =>
    minuteFinalizer({
      store,
      ...cfg.market,
      metrics: registerMetrics(registry, FINALIZER_METRICS),
    }),
});
