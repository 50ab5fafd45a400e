/**
 * The library-neutral face of Kafka for the whole project. Nothing outside `shared/kafka/` imports kafkajs:
 * callers see only these types, so replacing the client library means rewriting `kafkajs.ts` alone.
 */
import type { Logger } from '../observability/logger.ts';

export type HeaderValue = string | Buffer;

export interface OutgoingRecord {
  /** Decides the partition (murmur2, as the Java client does): same key, same partition, same order. */
  readonly key: string | Buffer | null;
  readonly value: string | Buffer | null;
  /** Every value must be present: an undefined header is a bug the adapter refuses to send. */
  readonly headers?: Readonly<Record<string, HeaderValue>>;
  readonly partition?: number;
  readonly timestampMs?: number;
}

export interface SendReport {
  readonly topic: string;
  readonly partition: number;
  /** Offset of the first record of this send on that partition. */
  readonly baseOffset: string;
}

export interface RecordProducer {
  /** Resolves once every record is acknowledged by all in-sync replicas (acks=all). */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<SendReport[]>;
  close(): Promise<void>;
}

export interface ProducerOptions {
  /**
   * Broker-side deduplication of retried batches (default true). Needs acks=all, which every send uses.
   */
  readonly idempotent?: boolean;
  /**
   * Batches in flight per broker connection, 1..5 (default 1). Kafka keeps order for idempotent producers
   * up to 5; kafkajs's own sequence bookkeeping is only proven at 1, hence the default.
   */
  readonly maxInFlightRequests?: number;
  /** Default false: a typo in a topic name should fail loudly, not create a topic. */
  readonly allowAutoTopicCreation?: boolean;
}

export interface IncomingRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** A header sent more than once keeps its last value (Java's `lastHeader`). */
  readonly headers: Readonly<Record<string, Buffer>>;
  readonly timestampMs: number;
}

export interface RecordContext {
  /** Call during long handlers so the group does not consider this member dead. */
  heartbeat(): Promise<void>;
}

/** Throwing makes the record (and the ones after it on that partition) come again. */
export type RecordHandler = (record: IncomingRecord, ctx: RecordContext) => Promise<void>;

export interface GroupConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group without committed offsets starts (default false: only new records). */
  readonly fromBeginning?: boolean;
  /**
   * Default true: the offset of each record whose handler resolved is committed at the end of its batch.
   * false: nothing is committed unless the caller calls `commit`.
   */
  readonly autoCommit?: boolean;
  /** Partitions handled in parallel by this member (order is kept within a partition). Default 1. */
  readonly partitionsConsumedConcurrently?: number;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly rebalanceTimeoutMs?: number;
  /** Longest a fetch waits for data before returning empty (default 1000). */
  readonly maxWaitTimeMs?: number;
  /** Called when the consumer crashes; `restarting` says whether it retries on its own. */
  readonly onCrash?: (error: Error, restarting: boolean) => void;
}

export interface GroupAssignment {
  readonly memberId: string;
  readonly partitions: Readonly<Record<string, readonly number[]>>;
}

export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read, i.e. the last processed offset + 1 (Kafka's convention). */
  readonly offset: string;
}

export interface GroupConsumer {
  readonly groupId: string;
  /** Resolves at the first completed join of this member, with what it was assigned. */
  joined(): Promise<GroupAssignment>;
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Finishes the record in hand, commits (with autoCommit), leaves the group and disconnects. */
  stop(): Promise<void>;
}

export interface TopicOptions {
  readonly replicationFactor?: number;
  /** Topic-level configs, e.g. `{ 'retention.ms': '86400000' }`. */
  readonly configs?: Readonly<Record<string, string>>;
}

export interface KafkaAdmin {
  /**
   * Creates the topic, or grows it to `partitions` if it has fewer (never shrinks: Kafka cannot).
   * Resolves once the partitions have leaders. Returns true when something was created or added.
   */
  ensureTopic(name: string, partitions: number, opts?: TopicOptions): Promise<boolean>;
  /** Unknown topics are ignored, so cleanup code can run twice. */
  deleteTopics(names: readonly string[]): Promise<void>;
  listTopics(): Promise<string[]>;
  partitionCount(topic: string): Promise<number>;
  /** Committed offset per partition of a group on a topic ('-1' where nothing was committed). */
  committedOffsets(groupId: string, topic: string): Promise<Record<number, string>>;
  /** Log-end offset (high watermark) per partition: with `committedOffsets`, a group's lag. */
  endOffsets(topic: string): Promise<Record<number, string>>;
  describeCluster(): Promise<{ clusterId: string; brokers: string[] }>;
  /** The topic's effective configuration values for `names` (topic override, else the broker's default). */
  topicConfig(topic: string, names: readonly string[]): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** true for TLS with the system CAs, or the CA certificates (PEM) to trust. */
  readonly ssl?: boolean | { readonly ca: readonly string[] };
  readonly sasl?: {
    readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    readonly username: string;
    readonly password: string;
  };
  /** Receives the client library's log lines (default: a `kafka` pino logger). */
  readonly logger?: Logger;
  /** Default: the logger's level, but never more verbose than info. */
  readonly logLevel?: KafkaLogLevel;
  /** Default 10 s (the library's 1 s fails against a busy broker). */
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Retries of one request before it fails (default: the library's, 5 with backoff). */
  readonly retries?: number;
}

export interface KafkaClient {
  readonly clientId: string;
  producer(opts?: ProducerOptions): Promise<RecordProducer>;
  admin(): Promise<KafkaAdmin>;
  /** Joins the group and starts handing records to `handler`; see `GroupConsumer.joined`. */
  groupConsumer(opts: GroupConsumerOptions, handler: RecordHandler): Promise<GroupConsumer>;
  /** Closes every producer, admin and consumer this client made. */
  close(): Promise<void>;
}
