import type { MetricKey } from '../observability/catalogue.ts';
import type { ExternalMetricKey } from '../observability/external-metrics.ts';

/** How a panel is drawn; each renderer (Grafana generator, local viewer) maps these to its own widgets. */
export type Viz = 'line' | 'bars' | 'stat' | 'table' | 'candles';

/** Grafana unit ids; the viewer formats the same ones. */
export type Unit = 'none' | 'short' | 'currencyUSD' | 's' | 'ms' | 'ops' | 'dateTimeAsIso';

export interface Column {
  /** Name as returned by Cassandra (an alias for computed selectors). */
  readonly name: string;
  readonly type: 'text' | 'timestamp' | 'double' | 'bigint' | 'counter';
  readonly label: string;
  readonly unit?: Unit;
}

/**
 * A panel fed by one raw-CQL query of the Grafana Cassandra datasource. The CQL is written exactly as a
 * dashboard target holds it: `${symbol:sqlstring}` for the symbol variable and `$__timeFrom`/`$__timeTo`
 * (epoch milliseconds) for the time range. `renderCql` substitutes them the way Grafana does.
 */
export interface CqlPanel {
  readonly id: string;
  readonly source: 'cassandra';
  readonly title: string;
  readonly description: string;
  readonly viz: Viz;
  readonly cql: string;
  /** The result columns in order; the first is the series id (the datasource groups frames by it). */
  readonly columns: readonly Column[];
  /** The timestamp column the renderers put on the x axis. */
  readonly timeColumn: string;
  /** The numeric columns drawn (lines, bars, stat values; OHLC for candles in open/high/low/close order). */
  readonly valueColumns: readonly string[];
  readonly unit: Unit;
  readonly decimals?: number;
}

/** How the viewer, which has no Prometheus, computes a health value from the processes' `/metrics`. */
export type LocalReduction =
  /** Per-second increase of the counter's sum between two scrapes. */
  | { readonly kind: 'rate'; readonly metric: MetricKey; readonly match?: Readonly<Record<string, string>> }
  /** Quantiles of the histogram over the observations between two scrapes (all of them on the first). */
  | { readonly kind: 'quantiles'; readonly metric: MetricKey; readonly quantiles: readonly number[] }
  /** The counter's (or gauge's) sum over all series. */
  | { readonly kind: 'sum'; readonly metric: MetricKey }
  /** Seconds since the newest value of a timestamp gauge (seconds since the epoch). */
  | { readonly kind: 'age'; readonly metric: MetricKey }
  /** Seconds since the time column of the newest row of a CQL panel, for the selected symbol. */
  | { readonly kind: 'rowAge'; readonly panel: string };

export interface PromTarget {
  readonly expr: string;
  readonly legend: string;
}

/** A pipeline-health panel: PromQL for Grafana, plus what the viewer shows instead (if anything). */
export interface PromPanel {
  readonly id: string;
  readonly source: 'prometheus';
  readonly title: string;
  readonly description: string;
  readonly viz: 'line' | 'stat';
  readonly targets: readonly PromTarget[];
  readonly unit: Unit;
  readonly decimals?: number;
  /** What the viewer's health strip shows locally; may read local-only metrics (mp_dispatcher_*). */
  readonly local?: LocalReduction;
  /** Catalogue metrics the PromQL reads (our processes), for checks and docs. */
  readonly metrics: readonly MetricKey[];
  /** Metrics of cluster components the PromQL reads (Kafka Exporter, Knative data plane). */
  readonly external?: readonly ExternalMetricKey[];
}

export type Panel = CqlPanel | PromPanel;

/** Grafana's 24-column grid: width and height of a panel; the generator flows them left to right. */
export interface Placement {
  readonly panel: string;
  readonly w: number;
  readonly h: number;
}

export interface DashboardLayout {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly refresh: string;
  readonly timeFrom: string;
  readonly rows: readonly { readonly title: string; readonly panels: readonly Placement[] }[];
}
