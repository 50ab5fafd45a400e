// Entry for `functions-framework --target=minute-finalizer --source=functions/minute-finalizer/functions-framework.ts`.
import { registerFromEnv } from '../../shared/host/functions-framework.ts';
import { registerMetrics } from '../../shared/observability/metrics.ts';
import { FINALIZER_METRICS, minuteFinalizer } from './handler.ts';

registerFromEnv('minute-finalizer', ({ store, market, registry }) =>
  minuteFinalizer({
    store,
    ...market,
    metrics: registerMetrics(registry, FINALIZER_METRICS),
  }),
);
