/**
 * The only file that knows kafkajs (with its patch, kafkajs-request-queue.ts). To change the client library,
 * reimplement `createKafkaClient` here against the types in `types.ts`; nothing else in the project has to
 * change.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs, {
  type Admin,
  type Consumer,
  type IHeaders,
  Kafka,
  type KafkaConfig,
  type LogEntry,
  logLevel,
  type Message,
  Partitioners,
  type Producer,
} from 'kafkajs';
// A static import (typed in kafkajs-internals.d.ts), so esbuild puts it in the bundle: the images have no
// node_modules to resolve a runtime require from.
import kafkajsProtocolErrors from 'kafkajs/src/protocol/error.js';
import './kafkajs-request-queue.ts';
import { createLogger, type Logger, registerSecret } from '../observability/logger.ts';

// Node's ESM loader cannot see this CommonJS export by name (vitest and esbuild can, which hid it): read it
// from the module object.
const { ConfigResourceTypes } = kafkajs;

import type {
  GroupAssignment,
  GroupConsumer,
  GroupConsumerOptions,
  IncomingRecord,
  KafkaAdmin,
  KafkaClient,
  KafkaClientOptions,
  KafkaLogLevel,
  OutgoingRecord,
  ProducerOptions,
  RecordHandler,
  RecordProducer,
  SendReport,
  TopicOptions,
} from './types.ts';

const LEVELS: Record<KafkaLogLevel, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/** Pino levels that kafkajs has no name for fall to the nearest one it has. */
function levelFromLogger(logger: Logger): KafkaLogLevel {
  switch (logger.level) {
    case 'silent':
      return 'nothing';
    case 'fatal':
    case 'error':
      return 'error';
    case 'warn':
      return 'warn';
    default:
      return 'info';
  }
}

/**
 * kafkajs's connection logs every error answer at error level, even the retriable ones its callers retry
 * (UNKNOWN_TOPIC_OR_PARTITION while a new topic's metadata spreads, a coordinator moving). Those are not
 * errors of the process: the caller either succeeds on a retry or fails with its own error line.
 */
const RETRIABLE_ANSWERS: ReadonlySet<string> = new Set(
  kafkajsProtocolErrors.errorCodes.filter((e) => e.retriable).map((e) => e.message),
);

/** The answer behind kafkajs's "Crash: <ErrorType>: <answer>" consumer line. */
const crashCause = (message: string): string | undefined => /^Crash: \w+: (.*)$/s.exec(message)?.[1];

/** kafkajs log entries become structured pino lines: the message stays the message, the rest are fields. */
export function pinoLogCreator(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _ts, logger: _name, ...fields } = log;
      const entry = { namespace, ...fields };
      const retried =
        namespace === 'Connection' && RETRIABLE_ANSWERS.has(String((fields as { error?: unknown }).error));
      // A consumer that crashed on a retriable answer (e.g. a coordinator still loading on a fresh broker) is
      // restarted by kafkajs itself: worth a warning, not an error line.
      const restarted = namespace === 'Consumer' && RETRIABLE_ANSWERS.has(crashCause(message) ?? '');
      if (level === logLevel.ERROR && !retried && !restarted) logger.error(entry, message);
      else if (level === logLevel.WARN || restarted) logger.warn(entry, message);
      else if (level === logLevel.INFO) logger.info(entry, message);
      else logger.debug(entry, message);
    };
}

export function toKafkaHeaders(headers: Readonly<Record<string, string | Buffer>> | undefined): IHeaders {
  const out: IHeaders = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
      throw new TypeError(`Kafka header "${name}" has no value (${String(value)}); omit the header instead`);
    }
    out[name] = value;
  }
  return out;
}

export function fromKafkaHeaders(headers: IHeaders | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (!headers) return out;
  for (const [name, raw] of Object.entries(headers)) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined) continue;
    out[name] = Buffer.isBuffer(value) ? value : Buffer.from(value);
  }
  return out;
}

function toMessage(r: OutgoingRecord): Message {
  const m: Message = { key: r.key, value: r.value, headers: toKafkaHeaders(r.headers) };
  if (r.partition !== undefined) m.partition = r.partition;
  if (r.timestampMs !== undefined) m.timestamp = String(r.timestampMs);
  return m;
}

/**
 * kafkajs's own default (1 s) is shorter than a TCP connect to a busy broker, or than a start-up pause of a
 * process compiling its code on a loaded machine; each such timeout is an error line and a reconnect.
 */
const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;

/** kafkajs wraps the broker's answer in retry errors (`cause`) and aggregates (`errors`). */
function hasErrorType(err: unknown, types: readonly string[], depth = 0): boolean {
  const e = err as { type?: string; errors?: unknown[]; cause?: unknown } | undefined;
  if (!e || depth > 5) return false;
  if (e.type !== undefined && types.includes(e.type)) return true;
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    return e.errors.every((x) => hasErrorType(x, types, depth + 1));
  }
  return hasErrorType(e.cause, types, depth + 1);
}
const isUnknownTopic = (err: unknown) => hasErrorType(err, ['UNKNOWN_TOPIC_OR_PARTITION']);
const isTopicNotReadyYet = (err: unknown) =>
  hasErrorType(err, ['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Topic creation and deletion complete asynchronously on a KRaft broker: its metadata can lag the
 * controller's answer. Callers rely on "created" meaning usable and "deleted" meaning gone.
 */
const TOPIC_CHANGE_VISIBLE_TIMEOUT_MS = 30_000;

export function createKafkaClient(opts: KafkaClientOptions): KafkaClient {
  if (opts.brokers.length === 0) throw new Error('createKafkaClient: at least one broker is required');
  if (opts.sasl) registerSecret(opts.sasl.password);
  const logger = opts.logger ?? createLogger('kafka');
  const config: KafkaConfig = {
    brokers: [...opts.brokers],
    clientId: opts.clientId,
    logLevel: LEVELS[opts.logLevel ?? levelFromLogger(logger)],
    logCreator: pinoLogCreator(logger),
  };
  if (opts.ssl === true) config.ssl = true;
  else if (opts.ssl) config.ssl = { ca: [...opts.ssl.ca] };
  if (opts.sasl) {
    const { mechanism, username, password } = opts.sasl;
    // Spelled out per mechanism: kafkajs types SASL options as a union keyed on the mechanism literal.
    config.sasl =
      mechanism === 'plain'
        ? { mechanism, username, password }
        : mechanism === 'scram-sha-256'
          ? { mechanism, username, password }
          : { mechanism, username, password };
  }
  config.connectionTimeout = opts.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS;
  if (opts.requestTimeoutMs !== undefined) config.requestTimeout = opts.requestTimeoutMs;
  if (opts.retries !== undefined) config.retry = { retries: opts.retries };
  const kafka = new Kafka(config);
  const open = new Set<{ close(): Promise<void> }>();
  const track = <T extends { close(): Promise<void> }>(resource: T): T => {
    const close = resource.close.bind(resource);
    const tracked = Object.assign(resource, {
      close: async () => {
        open.delete(tracked);
        await close();
      },
    });
    open.add(tracked);
    return tracked;
  };

  return {
    clientId: opts.clientId,
    async producer(popts: ProducerOptions = {}) {
      const maxInFlight = popts.maxInFlightRequests ?? 1;
      if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 5) {
        throw new RangeError('maxInFlightRequests must be 1..5 to keep an idempotent producer ordered');
      }
      const producer = kafka.producer({
        idempotent: popts.idempotent ?? true,
        maxInFlightRequests: maxInFlight,
        allowAutoTopicCreation: popts.allowAutoTopicCreation ?? false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      return track(wrapProducer(producer));
    },
    async admin() {
      const admin = kafka.admin();
      await admin.connect();
      return track(wrapAdmin(admin));
    },
    async groupConsumer(copts: GroupConsumerOptions, handler: RecordHandler) {
      const consumer = kafka.consumer({
        groupId: copts.groupId,
        allowAutoTopicCreation: false,
        maxWaitTimeInMs: copts.maxWaitTimeMs ?? 1000,
        // kafkajs notices partitions added to a subscribed topic (the bridge grows `market` on start) only at
        // a metadata refresh, then rejoins; the default 5 minutes would leave new partitions unread that long.
        metadataMaxAge: 30_000,
        ...(copts.sessionTimeoutMs !== undefined && { sessionTimeout: copts.sessionTimeoutMs }),
        ...(copts.heartbeatIntervalMs !== undefined && { heartbeatInterval: copts.heartbeatIntervalMs }),
        ...(copts.rebalanceTimeoutMs !== undefined && { rebalanceTimeout: copts.rebalanceTimeoutMs }),
      });
      return track(await startGroupConsumer(consumer, copts, handler, logger));
    },
    async close() {
      await Promise.allSettled([...open].map((r) => r.close()));
    },
  };
}

function wrapProducer(producer: Producer): RecordProducer & { close(): Promise<void> } {
  return {
    async send(topic, records) {
      if (records.length === 0) return [];
      const meta = await producer.send({ topic, acks: -1, messages: records.map(toMessage) });
      return meta.map(
        (m): SendReport => ({
          topic: m.topicName,
          partition: m.partition,
          baseOffset: m.baseOffset ?? m.offset ?? '-1',
        }),
      );
    },
    close: () => producer.disconnect(),
  };
}

function wrapAdmin(admin: Admin): KafkaAdmin {
  const partitionCount = async (topic: string): Promise<number> => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length ?? 0;
  };
  /** kafkajs's own `waitForLeaders` gives up on UNKNOWN_TOPIC_OR_PARTITION, which KRaft answers at first. */
  const untilUsable = async (topic: string, partitions: number): Promise<void> => {
    const deadline = Date.now() + TOPIC_CHANGE_VISIBLE_TIMEOUT_MS;
    for (;;) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const parts = topics[0]?.partitions ?? [];
        if (parts.length >= partitions && parts.every((p) => p.leader >= 0)) return;
      } catch (err) {
        if (!isTopicNotReadyYet(err)) throw err;
      }
      if (Date.now() > deadline)
        throw new Error(`topic ${topic} has no leaders for ${partitions} partitions yet`);
      await sleep(100);
    }
  };
  return {
    async ensureTopic(name: string, partitions: number, opts: TopicOptions = {}) {
      if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError('partitions must be >= 1');
      const existing = await admin.listTopics();
      if (!existing.includes(name)) {
        const created = await admin.createTopics({
          waitForLeaders: false,
          topics: [
            {
              topic: name,
              numPartitions: partitions,
              replicationFactor: opts.replicationFactor ?? -1,
              configEntries: Object.entries(opts.configs ?? {}).map(([n, value]) => ({ name: n, value })),
            },
          ],
        });
        // false means a concurrent creator won the race: the topic exists, which is all we asked for.
        if (created) {
          await untilUsable(name, partitions);
          return true;
        }
      }
      await untilUsable(name, 1);
      const have = await partitionCount(name);
      if (have >= partitions) return false;
      await admin.createPartitions({ topicPartitions: [{ topic: name, count: partitions }] });
      await untilUsable(name, partitions);
      return true;
    },
    async deleteTopics(names) {
      if (names.length === 0) return;
      const existing = new Set(await admin.listTopics());
      const present = names.filter((n) => existing.has(n));
      if (present.length === 0) return;
      try {
        await admin.deleteTopics({ topics: present });
      } catch (err) {
        if (!isUnknownTopic(err)) throw err;
      }
      const deadline = Date.now() + TOPIC_CHANGE_VISIBLE_TIMEOUT_MS;
      for (;;) {
        const listed = new Set(await admin.listTopics());
        const left = present.filter((n) => listed.has(n));
        if (left.length === 0) return;
        if (Date.now() > deadline) throw new Error(`topics still listed after deletion: ${left.join(', ')}`);
        await sleep(100);
      }
    },
    listTopics: () => admin.listTopics(),
    partitionCount,
    async endOffsets(topic) {
      const out: Record<number, string> = {};
      for (const p of await admin.fetchTopicOffsets(topic)) out[p.partition] = p.high;
      return out;
    },
    async committedOffsets(groupId, topic) {
      const res = await admin.fetchOffsets({ groupId, topics: [topic] });
      const out: Record<number, string> = {};
      for (const p of res[0]?.partitions ?? []) out[p.partition] = p.offset;
      return out;
    },
    async describeCluster() {
      const c = await admin.describeCluster();
      return { clusterId: c.clusterId, brokers: c.brokers.map((b) => `${b.host}:${b.port}`) };
    },
    async topicConfig(topic, names) {
      const res = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [...names] }],
      });
      const out: Record<string, string> = {};
      for (const e of res.resources[0]?.configEntries ?? []) out[e.configName] = e.configValue;
      return out;
    },
    close: () => admin.disconnect(),
  };
}

async function startGroupConsumer(
  consumer: Consumer,
  opts: GroupConsumerOptions,
  handler: RecordHandler,
  logger: Logger,
): Promise<GroupConsumer & { close(): Promise<void> }> {
  let resolveJoin!: (a: GroupAssignment) => void;
  const joinedOnce = new Promise<GroupAssignment>((r) => {
    resolveJoin = r;
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    resolveJoin({ memberId: payload.memberId, partitions: payload.memberAssignment });
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    (payload.restart ? logger.warn : logger.error).call(
      logger,
      { groupId: payload.groupId, err: payload.error, restart: payload.restart },
      'consumer crashed',
    );
    opts.onCrash?.(payload.error, payload.restart);
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [...opts.topics], fromBeginning: opts.fromBeginning ?? false });
  await consumer.run({
    autoCommit: opts.autoCommit ?? true,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 1,
    eachMessage: async ({ topic, partition, message, heartbeat }) => {
      const record: IncomingRecord = {
        topic,
        partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
        headers: fromKafkaHeaders(message.headers),
        timestampMs: Number(message.timestamp),
      };
      await handler(record, { heartbeat });
    },
  });
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= consumer.disconnect();
    return stopped;
  };
  return {
    groupId: opts.groupId,
    joined: () => joinedOnce,
    commit: (offsets) => consumer.commitOffsets(offsets.map((o) => ({ ...o }))),
    stop,
    close: stop,
  };
}
