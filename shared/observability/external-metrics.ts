/**
 * Metrics the cluster's dashboards read that our own processes do not emit (those are in catalogue.ts):
 * consumer lag and topic offsets from Strimzi's Kafka Exporter, delivery outcomes and latency from the
 * eventing-kafka-broker data plane (the KafkaSource dispatcher). The local stack has neither; there
 * `dev/dispatcher` emits the mp_dispatcher_* equivalents that the viewer's health strip reads.
 *
 * Each entry names the upstream file that defines it, at the version the cluster runs, so a version bump
 * is a reviewed change here. grafana/wiring.test.ts checks that every metric a dashboard queries is in this
 * list or the catalogue, and that its producer is deployed and scraped by knative/overlays/gcp.
 */

export type ExternalProducer = 'kafka-exporter' | 'kafka-source-dispatcher';

export interface ExternalMetricDef {
  readonly kind: 'counter' | 'gauge' | 'histogram';
  /** The exposed name (a histogram's base name, without _bucket/_sum/_count). */
  readonly name: string;
  readonly help: string;
  readonly labels: readonly string[];
  readonly producer: ExternalProducer;
  /** Where upstream defines the name, at the pinned version. */
  readonly source: string;
}

// Strimzi 0.51.0 (versions.yaml) bundles kafka_exporter 1.9.0 (docker-images/kafka-based/kafka/Dockerfile,
// KAFKA_EXPORTER_VERSION; 1.2.0 too);
// names are prometheus.BuildFQName("kafka", subsystem, name) in kafka_exporter.go.
const KAFKA_EXPORTER_SOURCE = 'https://github.com/danielqsj/kafka_exporter/blob/v1.9.0/kafka_exporter.go';

// eventing-kafka-broker knative-v1.23.0 data plane: Micrometer meters of Metrics.java, exposed by the
// (simpleclient) PrometheusMeterRegistry, whose naming convention turns dots into underscores and appends
// the base unit ("milliseconds"); tag keys become labels the same way (messaging.consumer.group.name ->
// messaging_consumer_group_name). Served on port http-metrics (9090) once config-observability in
// knative-eventing says metrics-protocol: prometheus (ansible/roles/monitoring).
const KNATIVE_KAFKA_SOURCE =
  'https://github.com/knative-extensions/eventing-kafka-broker/blob/knative-v1.23.0/data-plane/core/src/main/java/dev/knative/eventing/kafka/broker/core/observability/metrics/Metrics.java';

export const EXTERNAL_METRICS = {
  kafkaConsumerGroupLag: {
    kind: 'gauge',
    name: 'kafka_consumergroup_lag',
    help: 'Current approximate lag of a consumer group at topic/partition',
    labels: ['consumergroup', 'topic', 'partition'],
    producer: 'kafka-exporter',
    source: KAFKA_EXPORTER_SOURCE,
  },
  kafkaTopicOffset: {
    kind: 'gauge',
    name: 'kafka_topic_partition_current_offset',
    help: 'Current (end) offset of a topic partition',
    labels: ['topic', 'partition'],
    producer: 'kafka-exporter',
    source: KAFKA_EXPORTER_SOURCE,
  },
  knDispatchLatency: {
    kind: 'histogram',
    name: 'kn_eventing_dispatch_latency_milliseconds',
    help: 'Time to dispatch an event to the sink, per final response (one observation per event, after retries)',
    labels: [
      'messaging_consumer_group_name',
      'kn_kafkasource_name',
      'kn_kafkasource_namespace',
      'http_response_status_code',
      'cloudevents_type',
    ],
    producer: 'kafka-source-dispatcher',
    source: KNATIVE_KAFKA_SOURCE,
  },
} as const satisfies Record<string, ExternalMetricDef>;

export type ExternalMetricKey = keyof typeof EXTERNAL_METRICS;
