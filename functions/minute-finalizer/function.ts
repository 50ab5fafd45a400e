import { defineFunction } from '../../shared/host/define.ts';
import { registerMetrics } from '../../shared/observability/metrics.ts';
import { FINALIZER_METRICS, minuteFinalizer } from './handler.ts';

export default defineFunction({
  name: 'minute-finalizer',
  build: ({ store, market, registry }) =>
    minuteFinalizer({
      store,
      ...market,
      metrics: registerMetrics(registry, FINALIZER_METRICS),
    }),
});
