import { METRICS, type MetricKey } from '../observability/catalogue.ts';
import { EXTERNAL_METRICS, type ExternalMetricKey } from '../observability/external-metrics.ts';

/**
 * PromQL pieces built from the metrics catalogue (our processes) and the external list (Kafka Exporter,
 * Knative data plane), so a renamed metric cannot leave a dashboard behind.
 */

export const RATE_WINDOW = '$__rate_interval';

export type AnyMetricKey = MetricKey | ExternalMetricKey;

export const metricName = (key: AnyMetricKey): string =>
  key in METRICS ? METRICS[key as MetricKey].name : EXTERNAL_METRICS[key as ExternalMetricKey].name;

function selector(key: AnyMetricKey, match: Readonly<Record<string, string>> = {}, suffix = ''): string {
  const labels = Object.entries(match).map(([k, v]) => `${k}="${v}"`);
  return `${metricName(key)}${suffix}${labels.length ? `{${labels.join(',')}}` : ''}`;
}

export const gauge = (key: AnyMetricKey, match?: Readonly<Record<string, string>>): string =>
  selector(key, match);

export const rate = (
  key: AnyMetricKey,
  match?: Readonly<Record<string, string>>,
  window: string = RATE_WINDOW,
): string => `rate(${selector(key, match)}[${window}])`;

export const increase = (
  key: AnyMetricKey,
  window: string,
  match?: Readonly<Record<string, string>>,
): string => `increase(${selector(key, match)}[${window}])`;

/** The request count of a histogram (`_count`), as a per-second rate. */
export const countRate = (key: AnyMetricKey, match?: Readonly<Record<string, string>>): string =>
  `rate(${selector(key, match, '_count')}[${RATE_WINDOW}])`;

/** `histogram_quantile` over the histogram's buckets, keeping the given labels apart. */
export const quantile = (q: number, key: AnyMetricKey, by: readonly string[] = []): string =>
  `histogram_quantile(${q}, sum by (${['le', ...by].join(', ')}) (rate(${selector(key, {}, '_bucket')}[${RATE_WINDOW}])))`;
