import { METRICS, type MetricKey } from '../observability/catalogue.ts';

/** PromQL pieces built from the metrics catalogue, so a renamed metric cannot leave a dashboard behind. */

export const RATE_WINDOW = '$__rate_interval';

export const metricName = (key: MetricKey): string => METRICS[key].name;

function selector(key: MetricKey, match: Readonly<Record<string, string>> = {}, suffix = ''): string {
  const labels = Object.entries(match).map(([k, v]) => `${k}="${v}"`);
  return `${metricName(key)}${suffix}${labels.length ? `{${labels.join(',')}}` : ''}`;
}

export const gauge = (key: MetricKey, match?: Readonly<Record<string, string>>): string =>
  selector(key, match);

export const rate = (
  key: MetricKey,
  match?: Readonly<Record<string, string>>,
  window: string = RATE_WINDOW,
): string => `rate(${selector(key, match)}[${window}])`;

export const increase = (key: MetricKey, window: string): string => `increase(${selector(key)}[${window}])`;

/** `histogram_quantile` over the histogram's buckets, keeping the given labels apart. */
export const quantile = (q: number, key: MetricKey, by: readonly string[] = []): string =>
  `histogram_quantile(${q}, sum by (${['le', ...by].join(', ')}) (rate(${selector(key, {}, '_bucket')}[${RATE_WINDOW}])))`;
