import { defineFunction } from '../../shared/host/define.ts';
import { registerMetrics } from '../../shared/observability/metrics.ts';
import { finalizerSpec } from './config.ts';
import { FINALIZER_METRICS, minuteFinalizer } from './handler.ts';

export default defineFunction({
  name: 'minute-finalizer',
  spec: finalizerSpec,
  build: ({ store, market, own, registry }) =>
    minuteFinalizer({
      store,
      ...market,
      leaseTtlS: own.leaseTtlS,
      metrics: registerMetrics(registry, FINALIZER_METRICS),
    }),
});
