import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { METRICS, type MetricDef, type MetricKey } from './catalogue.ts';

type Instance<D extends MetricDef> = D['kind'] extends 'counter'
  ? Counter<string>
  : D['kind'] extends 'gauge'
    ? Gauge<string>
    : Histogram<string>;

export type Metrics<K extends MetricKey> = { readonly [P in K]: Instance<(typeof METRICS)[P]> };

/** A registry with Node process metrics, for one process. */
export function createRegistry(defaultLabels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(defaultLabels);
  collectDefaultMetrics({ register: registry, prefix: 'mp_' });
  return registry;
}

/** Registers the named catalogue metrics on `registry` (idempotent per registry). */
export function registerMetrics<K extends MetricKey>(registry: Registry, keys: readonly K[]): Metrics<K> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const d: MetricDef = METRICS[key];
    const existing = registry.getSingleMetric(d.name);
    if (existing) {
      out[key] = existing;
      continue;
    }
    const common = { name: d.name, help: d.help, labelNames: [...d.labels], registers: [registry] };
    out[key] =
      d.kind === 'counter'
        ? new Counter(common)
        : d.kind === 'gauge'
          ? new Gauge(common)
          : new Histogram({ ...common, buckets: [...(d.buckets ?? [])] });
  }
  return out as Metrics<K>;
}
