import type { KafkaAdmin, KafkaClient, RecordProducer } from '../../shared/kafka/index.ts';
import type { Logger } from '../../shared/observability/index.ts';
import { Backoff } from '../../shared/retry/backoff.ts';
import type { BridgeSink } from './bridge.ts';
import { type OutRecord, RECORD_BATCH_OVERHEAD } from './record.ts';
import { splitRecord } from './split.ts';

/** The broker's default `message.max.bytes` (1 MiB + batch overhead), used when the topic's cannot be read. */
export const BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

export interface KafkaSinkHooks {
  /** A single-trade record larger than the topic's limit: it can never be written, so it is dropped. */
  onOversized?(record: OutRecord): void;
}

/**
 * The bridge's Kafka side, through the shared adapter: makes sure the topic exists (creating it with
 * `partitions` if missing), reads the topic's `max.message.bytes` (the broker's default if it cannot), then
 * keeps one idempotent producer (acks=all, one request in flight). Connecting runs in the background with
 * backoff, so the bridge starts (and spools) even while Kafka is down.
 *
 * Batches are sized below the topic's limit (`maxBatchBytes`); should the broker still answer
 * MESSAGE_TOO_LARGE (the limit was lowered, a spooled batch from before), the batch is split in halves, a
 * single record into two records of half its trades, down to one trade; a single trade over the limit is
 * dropped and counted. So the error never comes back to the delivery loop, which would resend it forever.
 */
export class KafkaSink implements BridgeSink {
  private producer: RecordProducer | undefined;
  private stopped = false;
  private connecting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly readyWaiters: { resolve: (p: RecordProducer) => void; reject: (e: Error) => void }[] = [];

  constructor(
    private readonly client: KafkaClient,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly log: Logger,
    private readonly hooks: KafkaSinkHooks = {},
  ) {}

  private maxMessageBytes: number | undefined;

  /** Record bytes (`recordBytes`) one send may hold: the topic's limit less the batch header. */
  get maxBatchBytes(): number | undefined {
    return this.maxMessageBytes === undefined ? undefined : this.maxMessageBytes - RECORD_BATCH_OVERHEAD;
  }

  /** Reads the topic's `max.message.bytes`; keeps the broker default when the admin API refuses. */
  private async readLimit(admin: KafkaAdmin): Promise<void> {
    try {
      const cfg = await admin.topicConfig(this.topic, ['max.message.bytes']);
      const n = Number(cfg['max.message.bytes']);
      this.maxMessageBytes =
        Number.isSafeInteger(n) && n > RECORD_BATCH_OVERHEAD ? n : BROKER_DEFAULT_MAX_MESSAGE_BYTES;
    } catch (err) {
      this.maxMessageBytes ??= BROKER_DEFAULT_MAX_MESSAGE_BYTES;
      this.log.warn(
        { err, topic: this.topic },
        'cannot read the topic max.message.bytes; assuming the broker default',
      );
    }
  }

  get ready(): boolean {
    return this.producer !== undefined;
  }

  start(): void {
    this.connecting ??= this.connectLoop();
  }

  private async connectLoop(): Promise<void> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
    while (!this.stopped && !this.producer) {
      let admin: KafkaAdmin | undefined;
      try {
        admin = await this.client.admin();
        const created = await admin.ensureTopic(this.topic, this.partitions);
        if (created) this.log.info({ topic: this.topic, partitions: this.partitions }, 'created Kafka topic');
        await this.readLimit(admin);
        this.log.info({ topic: this.topic, maxMessageBytes: this.maxMessageBytes }, 'topic size limit');
        await admin.close();
        admin = undefined;
        if (this.stopped) return;
        const producer = await this.client.producer({ idempotent: true, maxInFlightRequests: 1 });
        if (this.stopped) {
          await producer.close();
          return;
        }
        this.producer = producer;
        for (const w of this.readyWaiters.splice(0)) w.resolve(producer);
        this.log.info({ topic: this.topic }, 'Kafka producer connected (idempotent, acks=all)');
      } catch (err) {
        await admin?.close().catch(() => {});
        const delay = backoff.next();
        this.log.warn({ err, delayMs: delay }, 'cannot reach Kafka yet; retrying');
        await new Promise<void>((r) => {
          this.wake = r;
          this.timer = setTimeout(r, delay);
        });
      }
    }
  }

  /**
   * Sends once the producer is connected. Before that the call waits (the delivery's stall timer decides
   * when waiting counts as an outage), so a normal start does not go through the spool.
   */
  async send(records: readonly OutRecord[]): Promise<void> {
    if (this.stopped) throw new Error('Kafka sink closed');
    const producer =
      this.producer ??
      (await new Promise<RecordProducer>((resolve, reject) => this.readyWaiters.push({ resolve, reject })));
    await this.sendFitting(producer, records);
  }

  private async sendFitting(producer: RecordProducer, records: readonly OutRecord[]): Promise<void> {
    try {
      await producer.send(this.topic, records);
    } catch (err) {
      if (hasErrorType(err, TOO_LARGE_ERRORS) && !this.stopped) {
        await this.refreshLimit();
        if (records.length > 1) {
          const mid = Math.ceil(records.length / 2);
          await this.sendFitting(producer, records.slice(0, mid));
          await this.sendFitting(producer, records.slice(mid));
          return;
        }
        const halves = splitRecord(records[0]!);
        if (halves) {
          for (const h of halves) await this.sendFitting(producer, [h]);
          return;
        }
        this.log.error(
          {
            topic: this.topic,
            key: records[0]!.key,
            bytes: records[0]!.value.length,
            limit: this.maxMessageBytes,
          },
          'one trade is larger than the topic max.message.bytes; dropped',
        );
        this.hooks.onOversized?.(records[0]!);
        return;
      }
      if (producerStateLost(err) && this.producer === producer && !this.stopped) {
        // The broker no longer accepts this producer's sequence (e.g. its state expired during a long
        // outage): resending under the same id would fail forever. Start a new producer id; the batch is
        // then re-sent once more, which may duplicate it downstream (never lose it).
        this.log.warn({ err }, 'Kafka refused the producer state; reconnecting with a new producer id');
        this.producer = undefined;
        await producer.close().catch(() => {});
        this.connecting = this.connectLoop();
      }
      throw err;
    }
  }

  /** The limit may have been lowered since connecting: read it again before sizing the halves. */
  private async refreshLimit(): Promise<void> {
    let admin: KafkaAdmin | undefined;
    try {
      admin = await this.client.admin();
      await this.readLimit(admin);
    } catch {
      // Keep the limit known so far; splitting makes progress regardless.
    } finally {
      await admin?.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const w of this.readyWaiters.splice(0)) w.reject(new Error('Kafka sink closed'));
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    // A connect attempt against a dead broker can take a while; do not hold shutdown hostage to it.
    let t: NodeJS.Timeout | undefined;
    await Promise.race([
      this.connecting?.catch(() => {}),
      new Promise<void>((r) => {
        t = setTimeout(r, 1_000);
      }),
    ]);
    clearTimeout(t);
    const p = this.producer;
    this.producer = undefined;
    await p?.close().catch((err) => this.log.warn({ err }, 'producer close failed'));
  }
}

const PRODUCER_STATE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
]);

/** The broker refuses a batch or record as larger than the topic allows: no resend of it can succeed. */
const TOO_LARGE_ERRORS: ReadonlySet<string> = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** True when the error, or one it wraps (cause, errors, originalError), has a broker error type of `types`. */
export function hasErrorType(err: unknown, types: ReadonlySet<string>, depth = 0): boolean {
  const e = err as { type?: unknown; cause?: unknown; errors?: unknown[]; originalError?: unknown } | null;
  if (!e || typeof e !== 'object' || depth > 5) return false;
  if (typeof e.type === 'string' && types.has(e.type)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => hasErrorType(x, types, depth + 1))) return true;
  return hasErrorType(e.cause, types, depth + 1) || hasErrorType(e.originalError, types, depth + 1);
}

/** True when the error (or one it wraps) says the idempotent producer's state is gone. */
export const producerStateLost = (err: unknown): boolean => hasErrorType(err, PRODUCER_STATE_ERRORS);
