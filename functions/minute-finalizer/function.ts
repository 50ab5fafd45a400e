import { RollupStore } from '../../shared/cassandra/rollup-store.ts';
import { defineFunction } from '../../shared/host/define.ts';
import { registerMetrics } from '../../shared/observability/metrics.ts';
import { finalizerSpec } from './config.ts';
import { FINALIZER_METRICS, minuteFinalizer } from './handler.ts';
import { rollupAfterMinute } from './rollups.ts';

export default defineFunction({
  name: 'minute-finalizer',
  spec: finalizerSpec,
  build: ({ store, market, own, registry }) =>
    minuteFinalizer({
      store,
      ...market,
      leaseTtlS: own.leaseTtlS,
      metrics: registerMetrics(registry, FINALIZER_METRICS),
      afterMinute: rollupAfterMinute({
        rollups: new RollupStore(store.client),
        requestFinalize: (s, m, o) => store.requestFinalize(s, m, o),
      }),
    }),
});
