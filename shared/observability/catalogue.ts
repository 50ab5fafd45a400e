/**
 * Every metric of the system, declared once: code registers from here, the Grafana generator and the viewer
 * read names from here, and the metric tables of the READMEs are rendered from here (`npm run docs`; a test
 * keeps them in step).
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

// Dense between 25 ms and 1 s, where the latency goals sit (issue 14: p99 50 ms at 1,000 trades/s, 250 ms at
// 5,000/s): with 250 and 500 as neighbours, a p99 of 260 ms and one of 490 ms were one interpolated guess, and
// with 25 and 50, a p99 of 45 ms read as 33.
const LATENCY_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.03, 0.04, 0.05, 0.06, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75,
  1, 2.5, 5, 10, 30,
];

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
    'Time of the newest trade stored by trade-writer, per symbol (the "written" series of the last-trade-age panel)',
    ['function', 'symbol'],
  ),
  lateTrades: m(
    'counter',
    'function',
    'mp_late_trades_total',
    'Trades in minutes older than the finalizer window: stored and finalized on request (trade-writer), not counted live (minute-window)',
    ['function'],
  ),
  replayedEvents: m(
    'counter',
    'function',
    'mp_replayed_events_total',
    'Events that came back from the dead-letter topic (npm run dlq -- replay), by function',
    ['function'],
  ),
  windowDuplicates: m(
    'counter',
    'function',
    'mp_window_duplicates_total',
    'Redelivered events minute-window recognised and did not count again',
  ),
  functionTradeRejects: m(
    'counter',
    'function',
    'mp_function_trade_rejects_total',
    'Trades of an event refused by the acceptance rule (the rest of the event is handled), by reason',
    ['function', 'reason'],
  ),
  functionTradeFixes: m(
    'counter',
    'function',
    'mp_function_trade_fixes_total',
    'Trades kept after a malformed optional field was repaired, by fix',
    ['function', 'fix'],
  ),
  counterOverflows: m(
    'counter',
    'finalizer',
    'mp_finalizer_counter_overflows_total',
    'Minutes whose sums leave the signed 64-bit range: exact (refused, no candle) or wrapped (live counter found negative, corrected)',
    ['kind'],
  ),
  finalizerRuns: m(
    'counter',
    'finalizer',
    'mp_finalizer_runs_total',
    'Finalizer runs by outcome (ok, failed; skipped: a run of this process was in progress; busy: another process held the lease)',
    ['outcome'],
  ),
  finalizerRunDuration: m(
    'histogram',
    'finalizer',
    'mp_finalizer_run_duration_seconds',
    'Duration of one finalizer run',
    [],
    [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  ),
  finalizerMinutes: m(
    'counter',
    'finalizer',
    'mp_finalizer_minutes_total',
    'Minutes finalized (first time) or re-finalized (late trades or counter changes)',
    ['outcome'],
  ),
  finalizerCorrections: m(
    'counter',
    'finalizer',
    'mp_finalizer_corrections_total',
    'Minutes whose live counters differed from the exact values and were reconciled',
  ),
  finalizerRequests: m(
    'counter',
    'finalizer',
    'mp_finalizer_requests_total',
    'Finalize requests handled, by origin (late: trades older than the window, e.g. replayed dead letters; operator: npm run refinalize) and outcome (done, expired: trade rows past TRADE_TTL_S)',
    ['origin', 'outcome'],
  ),
  finalizerPendingRequests: m(
    'gauge',
    'finalizer',
    'mp_finalizer_pending_requests',
    'Finalize requests waiting when the last run began',
  ),
  finalizedMinute: m(
    'gauge',
    'finalizer',
    'mp_finalized_minute_timestamp_seconds',
    'Start of the newest finalized minute, per symbol (staleness)',
    ['symbol'],
  ),
  // Bridge (functions/bridge): websocket → Kafka
  bridgeFrames: m(
    'counter',
    'bridge',
    'mp_bridge_frames_total',
    'Websocket frames received, by type (trade, ping, error, other, invalid)',
    ['type'],
  ),
  bridgeFrameRejects: m(
    'counter',
    'bridge',
    'mp_bridge_frame_rejects_total',
    'Whole frames refused, by reason (binary, too_large, not_json, not_object, bad_data)',
    ['reason'],
  ),
  bridgeTrades: m('counter', 'bridge', 'mp_bridge_trades_total', 'Valid trades received from the feed'),
  bridgeTradeRejects: m(
    'counter',
    'bridge',
    'mp_bridge_trade_rejects_total',
    'Trades refused by the acceptance rule, by reason (not_object, symbol, unsubscribed, price, volume, time, future, encode)',
    ['reason'],
  ),
  bridgeTradeFixes: m(
    'counter',
    'bridge',
    'mp_bridge_trade_fixes_total',
    'Trades kept after a malformed optional field was repaired, by fix (conditions_null_items, conditions_dropped)',
    ['fix'],
  ),
  bridgeTradesAcked: m(
    'counter',
    'bridge',
    'mp_bridge_trades_acked_total',
    'Trades acknowledged by Kafka (acks=all)',
  ),
  bridgeRecordsAcked: m(
    'counter',
    'bridge',
    'mp_bridge_records_acked_total',
    'Kafka records (one per symbol and coalescing window) acknowledged by Kafka',
  ),
  bridgeDropped: m(
    'counter',
    'bridge',
    'mp_bridge_trades_dropped_total',
    'Valid trades lost, by reason: spool_full, spool_error, closed, too_large (one trade over the topic max.message.bytes); should stay 0',
    ['reason'],
  ),
  bridgeReconnects: m(
    'counter',
    'bridge',
    'mp_bridge_reconnects_total',
    'Feed reconnects, by reason (closed, error, watchdog, rate_limited, auth, connect_failed)',
    ['reason'],
  ),
  bridgeFeedErrors: m(
    'counter',
    'bridge',
    'mp_bridge_feed_errors_total',
    'Error frames from the feed, by kind (too_many_symbols, invalid_symbol, other)',
    ['kind'],
  ),
  bridgeSocketOpen: m('gauge', 'bridge', 'mp_bridge_socket_open', '1 while the feed websocket is open'),
  bridgeSymbols: m(
    'gauge',
    'bridge',
    'mp_bridge_symbols',
    'Configured symbols by state (subscribed, refused)',
    ['state'],
  ),
  bridgeProduceFailures: m(
    'counter',
    'bridge',
    'mp_bridge_produce_failures_total',
    'Kafka sends that failed (the batch is retried)',
  ),
  bridgeProduceDuration: m(
    'histogram',
    'bridge',
    'mp_bridge_produce_duration_seconds',
    'Duration of one acknowledged Kafka send (one batch)',
    [],
    LATENCY_BUCKETS_S,
  ),
  bridgeAckLatency: m(
    'histogram',
    'bridge',
    'mp_bridge_receive_to_ack_seconds',
    'From receiving a frame to Kafka acknowledging its record, per record',
    [],
    LATENCY_BUCKETS_S,
  ),
  bridgeQueueDepth: m('gauge', 'bridge', 'mp_bridge_queue_records', 'Records waiting in the in-memory queue'),
  bridgeCoalesceWindow: m(
    'gauge',
    'bridge',
    'mp_bridge_coalesce_window_seconds',
    "Coalescing window given to the latest batch: follows the bridge's trade rate up to BRIDGE_COALESCE_MS; 0 (no wait) where it would be under BRIDGE_COALESCE_MIN_MS",
  ),
  bridgeSpoolDepth: m('gauge', 'bridge', 'mp_bridge_spool_records', 'Records waiting in the disk spool'),
  bridgeSpoolBytes: m('gauge', 'bridge', 'mp_bridge_spool_bytes', 'Bytes waiting in the disk spool'),
  bridgeKafkaAvailable: m(
    'gauge',
    'bridge',
    'mp_bridge_kafka_available',
    '1 while Kafka acknowledges sends in time',
  ),
  bridgeLastTradeAge: m(
    'gauge',
    'bridge',
    'mp_bridge_last_trade_age_seconds',
    'Seconds since the last valid trade was received, per symbol (staleness)',
    ['symbol'],
  ),
  bridgeLastPrice: m(
    'gauge',
    'bridge',
    'mp_bridge_last_price',
    'Price of the newest valid trade received, per subscribed symbol (price-move alert)',
    ['symbol'],
  ),
  // Local dispatcher (dev/dispatcher): the KafkaSource/PingSource emulation; names follow Knative's
  // event_count / event_dispatch_latencies so the same panels read either.
  dispatcherDeliveries: m(
    'counter',
    'dispatcher',
    'mp_dispatcher_deliveries_total',
    'Events with a final outcome, by source and outcome (delivered, dead_lettered, dropped)',
    ['source', 'outcome'],
  ),
  dispatcherAttempts: m(
    'counter',
    'dispatcher',
    'mp_dispatcher_attempts_total',
    'HTTP delivery attempts, by source and answer class (2xx, 4xx, 5xx, timeout, network)',
    ['source', 'result'],
  ),
  dispatcherRetries: m(
    'counter',
    'dispatcher',
    'mp_dispatcher_retries_total',
    'Delivery attempts after the first',
    ['source'],
  ),
  dispatcherDeadLetters: m(
    'counter',
    'dispatcher',
    'mp_dispatcher_dead_letters_total',
    'Events written to the dead-letter sink, by source and the last answer (HTTP status, timeout, network)',
    ['source', 'code'],
  ),
  dispatcherLatency: m(
    'histogram',
    'dispatcher',
    'mp_dispatcher_dispatch_latency_seconds',
    'Duration of one HTTP delivery attempt to the sink',
    ['source'],
    LATENCY_BUCKETS_S,
  ),
  dispatcherInflight: m(
    'gauge',
    'dispatcher',
    'mp_dispatcher_inflight_events',
    'Events being delivered now',
    ['source'],
  ),
  dispatcherWrapped: m(
    'counter',
    'dispatcher',
    'mp_dispatcher_wrapped_records_total',
    'Records that were not CloudEvents and were wrapped as dev.knative.kafka.event',
    ['source'],
  ),
  dispatcherLag: m(
    'gauge',
    'dispatcher',
    'mp_dispatcher_consumer_lag_records',
    'Records on the topic not yet committed by the source, per partition (sampled at each commit)',
    ['source', 'topic', 'partition'],
  ),
  dispatcherDuplicates: m(
    'counter',
    'dispatcher',
    'mp_dispatcher_chaos_duplicates_total',
    'Deliveries re-sent on purpose by DISPATCHER_DUPLICATE_RATIO (tests only)',
    ['source'],
  ),
  dispatcherPings: m(
    'counter',
    'dispatcher',
    'mp_dispatcher_pings_total',
    'PingSource events sent, by source, trigger (schedule, manual) and outcome',
    ['source', 'trigger', 'outcome'],
  ),
  // Local viewer (dev/viewer): the panel catalogue rendered live
  viewerRequests: m(
    'counter',
    'viewer',
    'mp_viewer_api_requests_total',
    'Viewer API requests, by route and outcome',
    ['route', 'outcome'],
  ),
  viewerQueryDuration: m(
    'histogram',
    'viewer',
    'mp_viewer_query_duration_seconds',
    'Duration of one catalogue panel query against Cassandra',
    ['panel'],
    LATENCY_BUCKETS_S,
  ),
  viewerQueryErrors: m(
    'counter',
    'viewer',
    'mp_viewer_query_errors_total',
    'Failed catalogue panel queries',
    ['panel'],
  ),
  viewerScrapeFailures: m(
    'counter',
    'viewer',
    'mp_viewer_scrape_failures_total',
    'Failed scrapes of a configured /metrics endpoint (pipeline-health strip)',
    ['target'],
  ),
} as const satisfies Record<string, MetricDef>;

export type MetricKey = keyof typeof METRICS;
export { LATENCY_BUCKETS_S };

/**
 * Metrics the cluster's own exporters expose, which alerts read (alerts/catalogue.ts). None of the
 * pipeline's processes emits them; they exist only in the cluster, from the named source:
 * - kafka_exporter: Strimzi's `spec.kafkaExporter` of the Kafka CR (knative/overlays/gcp/monitoring)
 * - kube-state-metrics: installed by kube-prometheus-stack (ansible/roles/monitoring)
 * - prometheus: the `up` series Prometheus writes for every scrape target of a PodMonitor
 */
export interface ExternalMetricDef {
  readonly name: string;
  readonly kind: MetricKind;
  readonly help: string;
  readonly labels: readonly string[];
  readonly source: 'kafka_exporter' | 'kube-state-metrics' | 'prometheus';
}

export const EXTERNAL_METRICS = {
  kafkaConsumerGroupLag: {
    name: 'kafka_consumergroup_lag',
    kind: 'gauge',
    help: 'Records a consumer group has not committed yet, per topic partition',
    labels: ['consumergroup', 'topic', 'partition'],
    source: 'kafka_exporter',
  },
  kafkaTopicOffset: {
    name: 'kafka_topic_partition_current_offset',
    kind: 'gauge',
    help: 'Newest offset of a topic partition (grows with every record written)',
    labels: ['topic', 'partition'],
    source: 'kafka_exporter',
  },
  kafkaBrokers: {
    name: 'kafka_brokers',
    kind: 'gauge',
    help: 'Brokers in the cluster metadata',
    labels: [],
    source: 'kafka_exporter',
  },
  podRestarts: {
    name: 'kube_pod_container_status_restarts_total',
    kind: 'counter',
    help: 'Container restarts, per namespace, pod and container',
    labels: ['namespace', 'pod', 'container'],
    source: 'kube-state-metrics',
  },
  statefulSetReady: {
    name: 'kube_statefulset_status_replicas_ready',
    kind: 'gauge',
    help: 'Ready replicas of a StatefulSet',
    labels: ['namespace', 'statefulset'],
    source: 'kube-state-metrics',
  },
  statefulSetReplicas: {
    name: 'kube_statefulset_replicas',
    kind: 'gauge',
    help: 'Desired replicas of a StatefulSet',
    labels: ['namespace', 'statefulset'],
    source: 'kube-state-metrics',
  },
  up: {
    name: 'up',
    kind: 'gauge',
    help: '1 when Prometheus scraped the target, 0 when the scrape failed',
    labels: ['job', 'namespace', 'pod'],
    source: 'prometheus',
  },
} as const satisfies Record<string, ExternalMetricDef>;

export type ExternalMetricKey = keyof typeof EXTERNAL_METRICS;

/** prom-client's default Node process metrics, which every registry of createRegistry() carries (prefixed). */
export const PROCESS_METRICS = {
  processStartTime: {
    name: 'mp_process_start_time_seconds',
    kind: 'gauge',
    help: 'Start time of the process since the epoch (changes when the process restarts)',
    labels: [],
  },
} as const;

export type ProcessMetricKey = keyof typeof PROCESS_METRICS;
