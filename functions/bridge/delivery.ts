import type { Logger } from '../../shared/observability/index.ts';
import { Backoff, type BackoffOptions } from '../../shared/retry/backoff.ts';
import {
  type DeliveryEffect,
  type DeliveryEvent,
  type DeliveryState,
  initialState,
  isKafkaAvailable,
  isSpooling,
  step,
} from './delivery-state.ts';
import { BridgeErrors } from './errors.ts';
import { nowMs, type OutRecord, recordBytes } from './record.ts';
import type { DiskSpool, SpoolCursor } from './spool.ts';

/**
 * Ordered, lossless hand-over of records to Kafka.
 *
 * Records flow `push → [in-memory queue] → [disk spool] → one batch in flight → Kafka`, and the order of
 * that chain is the order of arrival: the queue holds only records older than everything in the spool, and
 * while the spool is not empty every new record is appended to it. Exactly one batch is in flight; a failed
 * batch is re-sent unchanged (same records, same order) until Kafka acknowledges it, which with the
 * idempotent producer lets the broker drop a copy it had already written. Hence per-key (per-symbol) order and
 * no duplicates within one process lifetime.
 *
 * Kafka counts as unavailable when a send is not acknowledged within `stallMs` or fails; then the queue is
 * moved to the spool (durable), new records are spooled, and `ready` is false until the spool is drained.
 * A full queue also diverts new records to the spool. A full or failing spool is the only way to lose a
 * record, and it is counted (`onDrop`) and logged.
 *
 * Which of these modes applies is the state machine of `delivery-state.ts` (direct, draining, outage,
 * closed); this class feeds it events and performs the effects it returns.
 */
export interface RecordSink {
  /** Resolves when Kafka acknowledged every record (acks=all); rejects on failure. */
  send(records: readonly OutRecord[]): Promise<void>;
  /** The most record bytes (`recordBytes`) one send may hold, when the sink knows (the topic's limit). */
  readonly maxBatchBytes?: number | undefined;
}

export interface DeliveryHooks {
  onAck?(records: readonly OutRecord[], sendSeconds: number, ackAt: number): void;
  onSendFailure?(err: unknown): void;
  onDrop?(records: number, trades: number, reason: 'spool_full' | 'spool_error' | 'closed'): void;
  onAvailability?(available: boolean): void;
}

export interface DeliveryOptions {
  sink: RecordSink;
  spool: DiskSpool;
  logger: Logger;
  /** In-memory queue bound (records); beyond it records go to the spool. */
  maxQueueRecords: number;
  maxBatchRecords: number;
  maxBatchBytes: number;
  /** A send pending longer than this marks Kafka unavailable (spooling starts; the send keeps going). */
  stallMs: number;
  /** Pause between failed attempts of the same batch. */
  retry: BackoffOptions;
  hooks?: DeliveryHooks;
}

interface Batch {
  records: OutRecord[];
  source: 'memory' | 'spool';
  cursor?: SpoolCursor;
}

export class Delivery {
  private queue: OutRecord[] = [];
  private head = 0;
  private inflight: Batch | undefined;
  private pumping: Promise<void> | undefined;
  private state: DeliveryState;
  private abort: (() => void) | undefined;
  private aborted = false;
  private waiters: (() => void)[] = [];
  private readonly retry: Backoff;
  private readonly log: Logger;
  private readonly hooks: DeliveryHooks;

  constructor(private readonly opts: DeliveryOptions) {
    this.retry = new Backoff(opts.retry);
    this.log = opts.logger;
    this.hooks = opts.hooks ?? {};
    this.state = initialState(opts.spool.isEmpty);
    if (this.state !== 'direct') this.kick();
  }

  /** Records waiting in memory (not counting the batch in flight). */
  get queued(): number {
    return this.queue.length - this.head;
  }
  get current(): DeliveryState {
    return this.state;
  }
  get spooling(): boolean {
    return isSpooling(this.state);
  }
  get kafkaAvailable(): boolean {
    return isKafkaAvailable(this.state);
  }
  /** Nothing waiting anywhere and nothing in flight. */
  get idle(): boolean {
    return this.queued === 0 && this.opts.spool.isEmpty && this.inflight === undefined;
  }

  /** Takes records in arrival order. Never throws. */
  push(records: readonly OutRecord[]): void {
    if (records.length === 0) return;
    this.dispatch({ type: 'push', fits: this.queued + records.length <= this.opts.maxQueueRecords }, records);
    if (this.state !== 'closed') this.kick();
  }

  /** Runs one transition and its effects; `records` are the pushed ones (for `push` only). */
  private dispatch(event: DeliveryEvent, records: readonly OutRecord[] = []): void {
    const { state, effects } = step(this.state, event);
    this.state = state;
    for (const e of effects) this.perform(e, event, records);
  }

  private perform(effect: DeliveryEffect, event: DeliveryEvent, records: readonly OutRecord[]): void {
    switch (effect) {
      case 'enqueue':
        for (const r of records) this.queue.push(r);
        return;
      case 'spool':
        this.toSpool(records);
        return;
      case 'drop':
        this.drop(records, 'closed');
        return;
      case 'warnQueueFull': {
        const d = BridgeErrors.QUEUE_FULL;
        this.log.warn(
          { code: d.code, queued: this.queued, limit: this.opts.maxQueueRecords },
          'in-memory queue full; spooling to disk until Kafka catches up',
        );
        return;
      }
      case 'announceOutage': {
        const d = BridgeErrors.KAFKA_UNAVAILABLE;
        const { why, err } = event.type === 'kafkaDown' ? event : { why: event.type, err: undefined };
        this.log.warn({ code: d.code, why, err }, `Kafka unavailable (${why}); spooling to disk. ${d.fix}`);
        this.hooks.onAvailability?.(false);
        return;
      }
      case 'spoolQueue':
        this.spoolQueue();
        return;
      case 'announceRecovery': {
        const d = BridgeErrors.KAFKA_RECOVERED;
        this.log.info(
          { code: d.code, spooled: this.opts.spool.depth },
          'Kafka acknowledges again; draining spool',
        );
        this.hooks.onAvailability?.(true);
        return;
      }
    }
  }

  private drop(records: readonly OutRecord[], reason: 'spool_full' | 'spool_error' | 'closed'): void {
    this.hooks.onDrop?.(
      records.length,
      records.reduce((n, r) => n + r.trades, 0),
      reason,
    );
  }

  private toSpool(records: readonly OutRecord[]): void {
    try {
      if (!this.opts.spool.append(records)) {
        const d = BridgeErrors.SPOOL_FULL;
        this.log.error({ code: d.code, records: records.length, spoolBytes: this.opts.spool.bytes }, d.fix);
        this.drop(records, 'spool_full');
      }
    } catch (err) {
      const d = BridgeErrors.SPOOL_IO;
      this.log.error({ code: d.code, err, records: records.length }, `spool append failed. ${d.fix}`);
      this.drop(records, 'spool_error');
    }
  }

  /** Makes the queue durable: it is older than everything in the spool, so it goes in front. */
  private spoolQueue(): void {
    const rest = this.queue.slice(this.head);
    if (rest.length === 0) return;
    try {
      if (this.opts.spool.prepend(rest)) {
        this.queue = [];
        this.head = 0;
      }
    } catch (err) {
      this.log.warn({ code: BridgeErrors.SPOOL_IO.code, err }, 'could not move the queue to the spool');
    }
  }

  private take(): Batch | undefined {
    const { maxBatchRecords } = this.opts;
    const maxBatchBytes = Math.min(
      this.opts.maxBatchBytes,
      this.opts.sink.maxBatchBytes ?? Number.POSITIVE_INFINITY,
    );
    if (this.queued > 0) {
      const records: OutRecord[] = [];
      let bytes = 0;
      while (this.head < this.queue.length && records.length < maxBatchRecords) {
        const r = this.queue[this.head]!;
        const b = recordBytes(r);
        if (records.length > 0 && bytes + b > maxBatchBytes) break;
        records.push(r);
        bytes += b;
        this.head++;
      }
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head > 65_536) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      return { records, source: 'memory' };
    }
    if (!this.opts.spool.fullyRead) {
      try {
        const { records, cursor } = this.opts.spool.read(maxBatchRecords, maxBatchBytes);
        if (records.length > 0) return { records, source: 'spool', cursor };
      } catch (err) {
        const d = BridgeErrors.SPOOL_IO;
        this.log.error({ code: d.code, err }, `spool read failed. ${d.fix}`);
      }
    }
    return undefined;
  }

  private kick(): void {
    if (this.pumping || this.aborted) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      this.notify();
      // Records may have arrived between the last take() and the end of the loop.
      if (!this.aborted && (this.queued > 0 || !this.opts.spool.fullyRead)) this.kick();
    });
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async pump(): Promise<void> {
    for (;;) {
      const batch = this.take();
      if (!batch) return;
      this.inflight = batch;
      const acked = await this.sendUntilAcked(batch);
      if (!acked) return;
      this.inflight = undefined;
      const ackAt = nowMs();
      if (batch.cursor) {
        try {
          this.opts.spool.commit(batch.cursor);
        } catch (err) {
          this.log.error({ code: BridgeErrors.SPOOL_IO.code, err }, 'spool commit failed');
        }
      }
      this.dispatch({ type: 'acked', spoolEmpty: this.opts.spool.isEmpty });
      this.notify();
      // Metrics after the state change, so a hook that throws cannot stall delivery.
      try {
        this.hooks.onAck?.(batch.records, this.lastSendSeconds, ackAt);
      } catch (err) {
        this.log.error({ code: BridgeErrors.INTERNAL.code, err }, 'ack hook failed');
      }
    }
  }

  private lastSendSeconds = 0;

  private async sendUntilAcked(batch: Batch): Promise<boolean> {
    for (;;) {
      if (this.aborted) return false;
      const t0 = performance.now();
      const stall = setTimeout(
        () => this.dispatch({ type: 'kafkaDown', why: 'no acknowledgement' }),
        this.opts.stallMs,
      );
      try {
        const ok = await new Promise<boolean>((resolve, reject) => {
          this.abort = () => resolve(false);
          this.opts.sink.send(batch.records).then(() => resolve(true), reject);
        });
        if (!ok) return false;
        this.lastSendSeconds = (performance.now() - t0) / 1000;
        this.retry.reset();
        return true;
      } catch (err) {
        if (this.aborted) return false;
        this.hooks.onSendFailure?.(err);
        this.dispatch({ type: 'kafkaDown', why: 'send failed', err });
        const wait = this.retry.next();
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          this.abort = () => {
            clearTimeout(t);
            resolve();
          };
        });
      } finally {
        clearTimeout(stall);
        this.abort = undefined;
      }
    }
  }

  /** Resolves true once everything pushed so far is acknowledged, false at the deadline. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    this.kick();
    while (!this.idle) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let t: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        t = setTimeout(resolve, Math.min(left, 500));
      });
      clearTimeout(t);
      if (!this.pumping) this.kick();
    }
    return true;
  }

  /**
   * Stops accepting records, waits up to `timeoutMs` for Kafka to acknowledge everything, then saves what
   * is left (the batch in flight and the queue) in front of the spool. Returns whether everything was sent.
   */
  async close(timeoutMs: number): Promise<{ drained: boolean; spooled: number }> {
    if (this.state === 'closed') return { drained: this.idle, spooled: this.opts.spool.depth };
    const drained = await this.flush(timeoutMs);
    this.dispatch({ type: 'close' });
    if (!drained) {
      this.aborted = true;
      this.abort?.();
      await this.pumping;
      const rescue: OutRecord[] = [];
      if (this.inflight?.source === 'memory') rescue.push(...this.inflight.records);
      this.inflight = undefined;
      rescue.push(...this.queue.slice(this.head));
      this.queue = [];
      this.head = 0;
      this.opts.spool.rewind();
      try {
        if (!this.opts.spool.prepend(rescue)) this.drop(rescue, 'spool_full');
      } catch (err) {
        this.log.error({ code: BridgeErrors.SPOOL_IO.code, err }, 'could not save the queue to the spool');
        this.drop(rescue, 'spool_error');
      }
      const d = BridgeErrors.SHUTDOWN_INCOMPLETE;
      this.log.warn(
        { code: d.code, spooled: this.opts.spool.depth },
        `shutdown before Kafka took everything. ${d.fix}`,
      );
    }
    const spooled = this.opts.spool.depth;
    this.opts.spool.close();
    return { drained, spooled };
  }
}
