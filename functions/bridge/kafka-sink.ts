import type { KafkaAdmin, KafkaClient, RecordProducer } from '../../shared/kafka/index.ts';
import type { Logger } from '../../shared/observability/index.ts';
import { Backoff } from '../../shared/retry/backoff.ts';
import type { BridgeSink } from './bridge.ts';
import type { OutRecord } from './record.ts';

/**
 * The bridge's Kafka side, through the shared adapter: makes sure the topic exists (creating it with
 * `partitions` if missing), then keeps one idempotent producer (acks=all, one request in flight). Connecting
 * runs in the background with backoff, so the bridge starts (and spools) even while Kafka is down.
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
  ) {}

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
    try {
      await producer.send(
        this.topic,
        records.map((r) => ({
          key: r.key,
          value: r.value,
          headers: r.headers,
          timestampMs: Number(r.timestamp),
        })),
      );
    } catch (err) {
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

/** True when the error (or one it wraps) says the idempotent producer's state is gone. */
export function producerStateLost(err: unknown, depth = 0): boolean {
  const e = err as { type?: unknown; cause?: unknown; errors?: unknown[]; originalError?: unknown } | null;
  if (!e || typeof e !== 'object' || depth > 5) return false;
  if (typeof e.type === 'string' && PRODUCER_STATE_ERRORS.has(e.type)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => producerStateLost(x, depth + 1))) return true;
  return producerStateLost(e.cause, depth + 1) || producerStateLost(e.originalError, depth + 1);
}
