import { bridgeSpec } from '../functions/bridge/config.ts';
import { marketSpec } from '../shared/market/config.ts';
import {
  EXTERNAL_METRICS,
  type ExternalMetricKey,
  METRICS,
  type MetricKey,
  PROCESS_METRICS,
  type ProcessMetricKey,
} from '../shared/observability/catalogue.ts';

/**
 * Alerts as code: every pipeline alert, declared once. `npm run alerts:generate` renders them as a
 * kube-prometheus-stack PrometheusRule (knative/overlays/gcp/monitoring) and the price-move rule as Grafana
 * alerting provisioning (grafana/provisioning/alerting); the local viewer shows the same conditions on its
 * health strip (dev/viewer/alerts.ts). Metric names come only from the catalogues of
 * shared/observability/catalogue.ts; the exporters' metrics (kafka_exporter, kube-state-metrics, `up`)
 * exist only in the cluster and are marked so there.
 */

export type AnyMetricKey = MetricKey | ExternalMetricKey | ProcessMetricKey;

export const metric = (key: AnyMetricKey): string =>
  key in METRICS
    ? METRICS[key as MetricKey].name
    : key in EXTERNAL_METRICS
      ? EXTERNAL_METRICS[key as ExternalMetricKey].name
      : PROCESS_METRICS[key as ProcessMetricKey].name;

export interface AlertDef {
  /** The alert name (PascalCase, Prometheus convention). */
  readonly name: string;
  readonly severity: 'critical' | 'warning';
  readonly expr: string;
  /** How long the condition must hold before the alert fires (Prometheus duration). */
  readonly for: string;
  readonly summary: string;
  /** One line: what the operator checks and does first. */
  readonly runbook: string;
  /** Every metric the expression reads (catalogue keys); the tests check each name is really exposed. */
  readonly metrics: readonly AnyMetricKey[];
}

/** Thresholds, from the settings they guard (defaults; an overlay that changes one regenerates the rules). */
export const WATCHDOG_S = bridgeSpec.watchdogMs.default! / 1000;
export const LATENESS_S = marketSpec.finalizeLatenessS.default;
/** A minute is finalized `LATENESS_S` after it ends; alert when the newest is 2 minutes later than that. */
export const FINALIZED_STALE_S = 60 + LATENESS_S + 120;
/** Consumer lag must grow for this long (and exceed LAG_RECORDS) before anyone is paged. */
export const LAG_GROWTH_MINUTES = 10;
export const LAG_RECORDS = 100;
/** Window of the restart and dead-letter alerts. */
export const RECENT = '15m';
export const NAMESPACE = 'market';
export const DEAD_LETTER_TOPIC = 'market-dead-letters';
export const MARKET_TOPIC = 'market';
/** The PodMonitors' jobs (prometheus-operator names a PodMonitor's job `<namespace>/<name>`). */
export const KAFKA_JOB = 'kafka/kafka';
export const CASSANDRA_JOB = `${NAMESPACE}/cassandra`;
export const CASSANDRA_STATEFULSET = 'cassandra';

const m = metric;

export const ALERTS = [
  {
    name: 'MarketFeedSilent',
    severity: 'critical',
    // No frame at all (trades nor pings) for the whole watchdog span: the bridge's reconnects are not helping.
    expr: `sum(increase(${m('bridgeFrames')}[${WATCHDOG_S}s])) == 0 or absent(${m('bridgeFrames')})`,
    for: '1m',
    summary: `The market feed sent no frame (trade or ping) for longer than the watchdog (${WATCHDOG_S} s).`,
    runbook:
      'Check the bridge log for reconnect reasons (mp_bridge_reconnects_total by reason: auth, rate_limited) and the Finnhub token; restart the bridge Deployment if the socket is stuck.',
    metrics: ['bridgeFrames'],
  },
  {
    name: 'MarketConsumerLagGrowing',
    severity: 'warning',
    // kafka_exporter in the cluster; the same condition over the local dispatcher's lag after `or`.
    expr:
      `(sum by (consumergroup) (${m('kafkaConsumerGroupLag')}{topic="${MARKET_TOPIC}"}) > ${LAG_RECORDS}` +
      ` and sum by (consumergroup) (deriv(${m('kafkaConsumerGroupLag')}{topic="${MARKET_TOPIC}"}[5m])) > 0)` +
      ` or (sum by (source) (${m('dispatcherLag')}) > ${LAG_RECORDS}` +
      ` and sum by (source) (deriv(${m('dispatcherLag')}[5m])) > 0)`,
    for: `${LAG_GROWTH_MINUTES}m`,
    summary: `Consumer lag is above ${LAG_RECORDS} records and has grown for ${LAG_GROWTH_MINUTES} minutes.`,
    runbook:
      'Look at the function latency and error panels: scale the lagging function up (npm run deploy -- scale <function> --max N) or fix the Cassandra slowness behind it.',
    metrics: ['kafkaConsumerGroupLag', 'dispatcherLag'],
  },
  {
    name: 'MarketDeadLetters',
    severity: 'warning',
    // A counter series is born at 1 on its first dead letter, which increase() cannot see: compare with
    // the value 15 minutes ago, and treat a series that did not exist then as new dead letters.
    expr:
      `sum(delta(${m('kafkaTopicOffset')}{topic="${DEAD_LETTER_TOPIC}"}[${RECENT}])) > 0` +
      ` or sum by (source) (${m('dispatcherDeadLetters')}) > sum by (source) (${m('dispatcherDeadLetters')} offset ${RECENT})` +
      ` or (sum by (source) (${m('dispatcherDeadLetters')}) unless sum by (source) (${m('dispatcherDeadLetters')} offset ${RECENT}))`,
    for: '0m',
    summary: `Events were dead-lettered in the last ${RECENT}.`,
    runbook: `Read the events on topic ${DEAD_LETTER_TOPIC} (their ce_* headers and the function's error log say why), fix the cause, then replay them onto ${MARKET_TOPIC}.`,
    metrics: ['kafkaTopicOffset', 'dispatcherDeadLetters'],
  },
  {
    name: 'MarketFinalizedMinuteStale',
    severity: 'critical',
    expr: `time() - max(${m('finalizedMinute')}) > ${FINALIZED_STALE_S}`,
    for: '1m',
    summary: `The newest finalized minute is older than the lateness (${LATENESS_S} s) plus 2 minutes.`,
    runbook:
      'Check that the PingSource fires (mp_finalizer_runs_total by outcome) and the minute-finalizer log for failed runs; candles and VWAP stop moving until it recovers.',
    metrics: ['finalizedMinute'],
  },
  {
    name: 'MarketProcessRestarting',
    severity: 'warning',
    expr:
      `sum by (service, pod) (changes(${m('processStartTime')}[${RECENT}])) > 0` +
      ` or sum by (pod, container) (increase(${m('podRestarts')}{namespace="${NAMESPACE}"}[${RECENT}])) > 0`,
    for: '0m',
    summary: `A pipeline process (function or bridge) restarted in the last ${RECENT}.`,
    runbook:
      'kubectl -n market describe pod <pod> and kubectl -n market logs <pod> --previous: OOMKilled means raise the memory limit, a crash loop means read the last fatal log line.',
    metrics: ['processStartTime', 'podRestarts'],
  },
  {
    name: 'MarketCassandraDown',
    severity: 'critical',
    expr:
      `sum(${m('statefulSetReady')}{namespace="${NAMESPACE}",statefulset="${CASSANDRA_STATEFULSET}"}) < sum(${m('statefulSetReplicas')}{namespace="${NAMESPACE}",statefulset="${CASSANDRA_STATEFULSET}"})` +
      ` or min(${m('up')}{job="${CASSANDRA_JOB}"}) == 0`,
    for: '2m',
    summary: 'A Cassandra node is not ready or cannot be scraped.',
    runbook:
      'kubectl -n market get pods -l app.kubernetes.io/name=cassandra; nodetool status in a ready pod; with two of three nodes up writes (QUORUM) still succeed, with one they fail.',
    metrics: ['statefulSetReady', 'statefulSetReplicas', 'up'],
  },
  {
    name: 'MarketKafkaDown',
    severity: 'critical',
    expr: `min(${m('bridgeKafkaAvailable')}) == 0 or min(${m('up')}{job="${KAFKA_JOB}"}) == 0`,
    for: '1m',
    summary: 'Kafka does not acknowledge the bridge in time, or a broker cannot be scraped.',
    runbook:
      'kubectl -n kafka get kafka market -o yaml (status conditions) and the broker pods; the bridge spools to disk meanwhile, so no trade is lost while the spool has room.',
    metrics: ['bridgeKafkaAvailable', 'up'],
  },
  {
    name: 'MarketBridgeSpooling',
    severity: 'warning',
    expr: `sum(${m('bridgeSpoolDepth')}) > 0`,
    for: '1m',
    summary: 'The bridge is writing trades to its disk spool instead of Kafka.',
    runbook:
      'Find out why Kafka refuses sends (mp_bridge_produce_failures_total, MarketKafkaDown); watch mp_bridge_spool_bytes against BRIDGE_SPOOL_MAX_BYTES: a full spool drops trades.',
    metrics: ['bridgeSpoolDepth'],
  },
] as const satisfies readonly AlertDef[];

export type AlertName = (typeof ALERTS)[number]['name'];

/** The Grafana alert for analysts: a price move of at least `pct` percent within `windowS` seconds. */
export interface PriceMoveConfig {
  readonly pct: number;
  readonly windowS: number;
}

export const PRICE_MOVE_DEFAULTS: PriceMoveConfig = { pct: 5, windowS: 900 };

/** Percent change of each symbol's last price against its price `windowS` ago (from the bridge's gauge). */
export function priceMoveExpr(c: PriceMoveConfig): string {
  const last = `max by (symbol) (${m('bridgeLastPrice')})`;
  const before = `max by (symbol) (${m('bridgeLastPrice')} offset ${c.windowS}s)`;
  return `abs(100 * (${last} / ${before} - 1))`;
}
