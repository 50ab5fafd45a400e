/**
 * Every metric of the system, declared once: code registers from here, the Grafana generator and the viewer
 * read names from here, and docs/metrics.md is rendered from here (a test keeps it in step).
 * Naming: `mp_` prefix, base units in the name (`_seconds`, `_bytes`), counters end in `_total`.
 */
export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface MetricDef {
  readonly kind: MetricKind;
  readonly name: string;
  readonly help: string;
  readonly labels: readonly string[];
  readonly buckets?: readonly number[];
  /** Which process exposes it. */
  readonly component: 'bridge' | 'function' | 'dispatcher' | 'finalizer' | 'feed' | 'viewer';
}

const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const m = <K extends MetricKind>(
  kind: K,
  component: MetricDef['component'],
  name: string,
  help: string,
  labels: readonly string[] = [],
  buckets?: readonly number[],
) => ({ kind, component, name, help, labels, ...(buckets ? { buckets } : {}) }) as const;

export const METRICS = {
  // Function host (trade-writer, minute-window, minute-finalizer)
  functionEvents: m(
    'counter',
    'function',
    'mp_function_events_total',
    'Events handled, by outcome (ok, poison, retry)',
    ['function', 'outcome'],
  ),
  functionErrors: m('counter', 'function', 'mp_function_errors_total', 'Failed events by error code', [
    'function',
    'code',
  ]),
  functionTrades: m(
    'counter',
    'function',
    'mp_function_trades_total',
    'Trades in successfully handled events',
    ['function'],
  ),
  functionDuration: m(
    'histogram',
    'function',
    'mp_function_event_duration_seconds',
    'Time to handle one event',
    ['function'],
    LATENCY_BUCKETS_S,
  ),
  pipelineLatency: m(
    'histogram',
    'function',
    'mp_pipeline_latency_seconds',
    'From bridge receive to the function finishing its write (end-to-end latency)',
    ['function'],
    LATENCY_BUCKETS_S,
  ),
  functionInflight: m('gauge', 'function', 'mp_function_inflight_events', 'Events being handled now', [
    'function',
  ]),
  lastTradeTime: m(
    'gauge',
    'function',
    'mp_last_trade_timestamp_seconds',
    'Time of the newest trade written, per symbol',
    ['function', 'symbol'],
  ),
} as const satisfies Record<string, MetricDef>;

export type MetricKey = keyof typeof METRICS;
export { LATENCY_BUCKETS_S };
