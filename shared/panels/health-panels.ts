import { countRate, gauge, increase, quantile, rate } from './promql.ts';
import type { PromPanel } from './types.ts';

/**
 * Pipeline-health panels. The PromQL (Grafana, the cluster) reads what the cluster produces: our processes'
 * catalogue metrics (shared/observability/catalogue.ts) plus Kafka Exporter and Knative data-plane metrics
 * (shared/observability/external-metrics.ts). The local dispatcher's mp_dispatcher_* metrics exist only in
 * `npm start`, so they appear only in `local`, the reduction the viewer's health strip computes.
 */

export const tradesPerSecond = {
  id: 'tradesPerSecond',
  source: 'prometheus',
  title: 'Trades / s',
  description: 'Trades received by the bridge, acknowledged by Kafka, and handled by each function.',
  viz: 'line',
  targets: [
    { expr: `sum(${rate('bridgeTrades')})`, legend: 'received (bridge)' },
    { expr: `sum(${rate('bridgeTradesAcked')})`, legend: 'acked by Kafka' },
    { expr: `sum by (function) (${rate('functionTrades')})`, legend: '{{function}}' },
  ],
  unit: 'short',
  decimals: 1,
  local: { kind: 'rate', metric: 'functionTrades', match: { function: 'trade-writer' } },
  metrics: ['bridgeTrades', 'bridgeTradesAcked', 'functionTrades'],
} as const satisfies PromPanel;

export const pipelineLatency = {
  id: 'pipelineLatency',
  source: 'prometheus',
  title: 'End-to-end latency',
  description: 'From the bridge receiving a frame to the function finishing its write: p50 and p99.',
  viz: 'line',
  targets: [
    { expr: quantile(0.5, 'pipelineLatency', ['function']), legend: 'p50 {{function}}' },
    { expr: quantile(0.99, 'pipelineLatency', ['function']), legend: 'p99 {{function}}' },
  ],
  unit: 's',
  local: { kind: 'quantiles', metric: 'pipelineLatency', quantiles: [0.5, 0.99] },
  metrics: ['pipelineLatency'],
} as const satisfies PromPanel;

export const deadLetters = {
  id: 'deadLetters',
  source: 'prometheus',
  title: 'Dead letters',
  description:
    'Events written to the dead-letter topic in the last 5 minutes (its end offsets, from the Kafka Exporter).',
  viz: 'line',
  targets: [
    {
      expr: `sum by (topic) (${increase('kafkaTopicOffset', '5m', { topic: 'market-dead-letters' })})`,
      legend: '{{topic}}',
    },
  ],
  unit: 'short',
  decimals: 0,
  local: { kind: 'sum', metric: 'dispatcherDeadLetters' },
  metrics: [],
  external: ['kafkaTopicOffset'],
} as const satisfies PromPanel;

export const replayAndRefinalize = {
  id: 'replayAndRefinalize',
  source: 'prometheus',
  title: 'Dead-letter replay and re-finalization',
  description:
    'Replayed dead letters reaching each function (npm run dlq -- replay), finalize requests handled by origin (late: trades older than the window; operator: npm run refinalize) and outcome, in the last 5 minutes, and requests still waiting.',
  viz: 'line',
  targets: [
    { expr: `sum by (function) (${increase('replayedEvents', '5m')})`, legend: 'replayed {{function}}' },
    {
      expr: `sum by (origin, outcome) (${increase('finalizerRequests', '5m')})`,
      legend: 'requests {{origin}} {{outcome}}',
    },
    { expr: `max(${gauge('finalizerPendingRequests')})`, legend: 'requests waiting' },
  ],
  unit: 'short',
  decimals: 0,
  metrics: ['replayedEvents', 'finalizerRequests', 'finalizerPendingRequests'],
} as const satisfies PromPanel;

export const lastTradeAge = {
  id: 'lastTradeAge',
  source: 'prometheus',
  title: 'Last-trade age',
  description: 'Seconds since the newest trade was written (functions) and received (bridge), per symbol.',
  viz: 'line',
  targets: [
    { expr: `time() - max by (symbol) (${gauge('lastTradeTime')})`, legend: 'written {{symbol}}' },
    { expr: `max by (symbol) (${gauge('bridgeLastTradeAge')})`, legend: 'received {{symbol}}' },
  ],
  unit: 's',
  decimals: 1,
  local: { kind: 'rowAge', panel: 'lastTrade' },
  metrics: ['lastTradeTime', 'bridgeLastTradeAge'],
} as const satisfies PromPanel;

export const finalizedStaleness = {
  id: 'finalizedStaleness',
  source: 'prometheus',
  title: 'Finalized-minute staleness',
  description:
    'Seconds since the start of the newest finalized minute, per symbol (about 70 s when healthy).',
  viz: 'line',
  targets: [{ expr: `time() - max by (symbol) (${gauge('finalizedMinute')})`, legend: '{{symbol}}' }],
  unit: 's',
  decimals: 0,
  local: { kind: 'age', metric: 'finalizedMinute' },
  metrics: ['finalizedMinute'],
} as const satisfies PromPanel;

export const deliveries = {
  id: 'deliveries',
  source: 'prometheus',
  title: 'Deliveries / s',
  description:
    'Events the KafkaSource dispatcher finished per second, by source and final HTTP status (after its retries), and events a function asked to have retried.',
  viz: 'line',
  targets: [
    {
      expr: `sum by (kn_kafkasource_name, http_response_status_code) (${countRate('knDispatchLatency')})`,
      legend: '{{kn_kafkasource_name}} {{http_response_status_code}}',
    },
    {
      expr: `sum by (function) (${rate('functionEvents', { outcome: 'retry' })})`,
      legend: '{{function}} retry asked',
    },
  ],
  unit: 'short',
  metrics: ['functionEvents'],
  external: ['knDispatchLatency'],
} as const satisfies PromPanel;

export const consumerLag = {
  id: 'consumerLag',
  source: 'prometheus',
  title: 'Consumer lag',
  description: 'Records on the topics not yet committed by each consumer group (Kafka Exporter).',
  viz: 'line',
  targets: [
    { expr: `sum by (consumergroup) (${gauge('kafkaConsumerGroupLag')})`, legend: '{{consumergroup}}' },
  ],
  unit: 'short',
  decimals: 0,
  local: { kind: 'sum', metric: 'dispatcherLag' },
  metrics: [],
  external: ['kafkaConsumerGroupLag'],
} as const satisfies PromPanel;

export const functionLatency = {
  id: 'functionLatency',
  source: 'prometheus',
  title: 'Function and delivery latency (p99)',
  description:
    'p99 of handling one event, of delivering one event by the KafkaSource dispatcher (retries included), and of a Kafka acknowledgement.',
  viz: 'line',
  targets: [
    { expr: quantile(0.99, 'functionDuration', ['function']), legend: 'handle {{function}}' },
    {
      // The Knative data plane measures milliseconds; the panel's unit is seconds.
      expr: `${quantile(0.99, 'knDispatchLatency', ['kn_kafkasource_name'])} / 1000`,
      legend: 'deliver {{kn_kafkasource_name}}',
    },
    { expr: quantile(0.99, 'bridgeAckLatency'), legend: 'bridge receive→ack' },
  ],
  unit: 's',
  metrics: ['functionDuration', 'bridgeAckLatency'],
  external: ['knDispatchLatency'],
} as const satisfies PromPanel;

export const functionErrors = {
  id: 'functionErrors',
  source: 'prometheus',
  title: 'Function errors / s',
  description: 'Failed events per second, by function and error code.',
  viz: 'line',
  targets: [{ expr: `sum by (function, code) (${rate('functionErrors')})`, legend: '{{function}} {{code}}' }],
  unit: 'short',
  metrics: ['functionErrors'],
} as const satisfies PromPanel;

export const functionScale = {
  id: 'functionScale',
  source: 'prometheus',
  title: 'Function scale',
  description: 'Instances reporting per function (one series per scraped pod) and events in flight.',
  viz: 'line',
  targets: [
    { expr: `count by (function) (${gauge('functionInflight')})`, legend: 'instances {{function}}' },
    { expr: `sum by (function) (${gauge('functionInflight')})`, legend: 'in flight {{function}}' },
  ],
  unit: 'short',
  decimals: 0,
  metrics: ['functionInflight'],
} as const satisfies PromPanel;

export const finalizer = {
  id: 'finalizer',
  source: 'prometheus',
  title: 'Finalizer',
  description: 'Minutes finalized and re-finalized, and counter corrections, in the last 5 minutes.',
  viz: 'line',
  targets: [
    { expr: `sum by (outcome) (${increase('finalizerMinutes', '5m')})`, legend: 'minutes {{outcome}}' },
    { expr: `sum(${increase('finalizerCorrections', '5m')})`, legend: 'corrections' },
    { expr: `sum by (outcome) (${increase('finalizerRuns', '5m')})`, legend: 'runs {{outcome}}' },
  ],
  unit: 'short',
  decimals: 0,
  metrics: ['finalizerMinutes', 'finalizerCorrections', 'finalizerRuns'],
} as const satisfies PromPanel;

export const bridgeState = {
  id: 'bridgeState',
  source: 'prometheus',
  title: 'Bridge',
  description: 'Feed socket open, Kafka available (1 = yes), and records waiting in the disk spool.',
  viz: 'line',
  targets: [
    { expr: `max(${gauge('bridgeSocketOpen')})`, legend: 'socket open' },
    { expr: `max(${gauge('bridgeKafkaAvailable')})`, legend: 'kafka available' },
    { expr: `sum(${gauge('bridgeSpoolDepth')})`, legend: 'spooled records' },
  ],
  unit: 'short',
  decimals: 0,
  metrics: ['bridgeSocketOpen', 'bridgeKafkaAvailable', 'bridgeSpoolDepth'],
} as const satisfies PromPanel;

export const bridgeCoalescing = {
  id: 'bridgeCoalescing',
  source: 'prometheus',
  title: 'Bridge coalescing window',
  description:
    "How long the bridge gathers a symbol's frames into one event. It follows the trade rate: 0 (no wait, only frames that arrived together) while trading is slower than the rate that gives BRIDGE_COALESCE_MIN_MS, BRIDGE_COALESCE_MS from BRIDGE_COALESCE_FULL_RATE trades/s on (fewer events when CPU is short).",
  viz: 'line',
  targets: [{ expr: `max(${gauge('bridgeCoalesceWindow')})`, legend: 'window' }],
  unit: 's',
  local: { kind: 'sum', metric: 'bridgeCoalesceWindow' },
  metrics: ['bridgeCoalesceWindow'],
} as const satisfies PromPanel;

export const HEALTH_PANELS = [
  tradesPerSecond,
  pipelineLatency,
  deadLetters,
  replayAndRefinalize,
  lastTradeAge,
  finalizedStaleness,
  consumerLag,
  deliveries,
  functionLatency,
  functionErrors,
  functionScale,
  finalizer,
  bridgeState,
  bridgeCoalescing,
] as const satisfies readonly PromPanel[];
