import type { Setting } from '../shared/config/env.ts';
import * as p from '../shared/config/parsers.ts';

const topicName = p.identifier(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name');

/**
 * Settings of the operations commands (`npm run dlq`, `npm run refinalize`). Kafka and Cassandra
 * connections (brokers, SASL/TLS, contact points, credentials) come from the shared specs in
 * shared/kafka/config.ts and shared/cassandra/config.ts: the same variables the services read.
 */
export const deadLetterSpec = {
  topic: {
    env: 'DLQ_TOPIC',
    doc: 'Dead-letter topic both KafkaSources write to (knative/base/sources/dead-letters.yaml)',
    parse: topicName,
    default: 'market-dead-letters',
  } satisfies Setting<string>,
  replayTopic: {
    env: 'DLQ_REPLAY_TOPIC',
    doc: 'Topic replayed events are written to (both functions read it, each ignores what it already has)',
    parse: topicName,
    default: 'market',
  } satisfies Setting<string>,
  replayGroup: {
    env: 'DLQ_REPLAY_GROUP',
    doc: 'Consumer group whose committed offsets mark the dead letters already replayed',
    parse: topicName,
    default: 'market-dead-letters-replay',
  } satisfies Setting<string>,
  idleMs: {
    env: 'DLQ_IDLE_MS',
    doc: 'A read of the topic ends after this long without a record (records removed by retention)',
    parse: p.int({ min: 500, max: 600_000 }),
    default: 10_000,
  } satisfies Setting<number>,
} as const;
