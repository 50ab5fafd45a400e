/**
 * One KafkaSource: a consumer group (one member per `spec.consumers`) whose records are POSTed to the sink
 * with the source's ordering, retries, backoff and dead-letter sink, committing only offsets that reached
 * an outcome (delivered, dead-lettered, or dropped the way Knative drops them).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  GroupConsumer,
  IncomingRecord,
  KafkaClient,
  OutgoingRecord,
  RecordContext,
} from '../../shared/kafka/types.ts';
import type { Logger } from '../../shared/observability/logger.ts';
import type { Metrics } from '../../shared/observability/metrics.ts';
import { type Attempt, dispatchWithRetry, type Outcome, postOnce } from './dispatch.ts';
import {
  type DispatchEvent,
  httpBinaryHeaders,
  recordToEvent,
  toKafkaBinary,
  withErrorExtensions,
} from './events.ts';
import type { KafkaSourceManifest } from './manifests.ts';
import { OffsetBook } from './offsets.ts';
import { serialRun } from './serial-run.ts';

export type DispatcherMetricKey =
  | 'dispatcherDeliveries'
  | 'dispatcherAttempts'
  | 'dispatcherRetries'
  | 'dispatcherDeadLetters'
  | 'dispatcherLatency'
  | 'dispatcherInflight'
  | 'dispatcherWrapped'
  | 'dispatcherLag'
  | 'dispatcherDuplicates'
  | 'dispatcherPings';

export const DISPATCHER_METRICS: readonly DispatcherMetricKey[] = [
  'dispatcherDeliveries',
  'dispatcherAttempts',
  'dispatcherRetries',
  'dispatcherDeadLetters',
  'dispatcherLatency',
  'dispatcherInflight',
  'dispatcherWrapped',
  'dispatcherLag',
  'dispatcherDuplicates',
  'dispatcherPings',
];

export type DeadLetterTarget =
  | { readonly kind: 'kafka'; readonly topic: string; readonly send: KafkaSend }
  | { readonly kind: 'http'; readonly url: string };

export type KafkaSend = (topic: string, record: OutgoingRecord) => Promise<void>;

export type FinalOutcome = 'delivered' | 'dead_lettered' | 'dropped';

/** Reported once per record that reached an outcome; tests wait on these instead of on time. */
export interface OutcomeReport {
  readonly source: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly outcome: FinalOutcome;
  readonly attempts: number;
  readonly event: DispatchEvent;
}

export interface KafkaSourceDeps {
  readonly client: KafkaClient;
  readonly sinkUrl: string;
  readonly deadLetters?: DeadLetterTarget;
  readonly metrics: Metrics<DispatcherMetricKey>;
  readonly logger: Logger;
  readonly commitIntervalMs: number;
  /** unordered: events in flight per group member (Knative: max.poll.records = 50). */
  readonly maxInFlight: number;
  /** Test-only chaos: share of delivered events POSTed a second time. */
  readonly duplicateRatio: number;
  readonly random: () => number;
  /** How long to wait for a missing topic before trying again. */
  readonly topicWaitMs: number;
  /** Topics present on the cluster (to wait for the source's topics before joining). */
  readonly listTopics: () => Promise<string[]>;
  /** Committed-vs-end offsets per partition, for the lag gauge; absent means no lag metric. */
  readonly endOffsets?: (topic: string) => Promise<Record<number, string>>;
  readonly onOutcome?: (r: OutcomeReport) => void;
}

/** A counting semaphore whose waiters are released with `false` when it closes. */
class Slots {
  private used = 0;
  private closed = false;
  private readonly waiters: ((ok: boolean) => void)[] = [];
  constructor(private readonly size: number) {}

  acquire(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.used < this.size) {
      this.used++;
      return Promise.resolve(true);
    }
    return new Promise((r) => this.waiters.push(r));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next && !this.closed) next(true);
    else this.used--;
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(false);
  }
}

function attemptLabel(a: Attempt): string {
  if (a.kind === 'error') return a.reason;
  return `${Math.floor(a.status / 100)}xx`;
}

/** Keeps the group session alive while `work` runs longer than a heartbeat interval. */
async function withHeartbeat<T>(work: Promise<T>, ctx: RecordContext): Promise<T> {
  const timer = setInterval(() => {
    ctx.heartbeat().catch(() => {
      // A failed heartbeat means a rebalance is under way; the consumer rejoins on its own.
    });
  }, 1000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

class Member {
  private readonly book = new OffsetBook();
  private readonly slots: Slots;
  private readonly abort = new AbortController();
  private readonly inflight = new Set<Promise<void>>();
  private consumer: GroupConsumer | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  /** Commits the highest contiguous completed offsets, one commit at a time; each call covers every outcome before it. */
  readonly commit = serialRun(() => this.commitNow());
  private stopping = false;
  joined = false;

  constructor(
    private readonly m: KafkaSourceManifest,
    private readonly deps: KafkaSourceDeps,
    private readonly log: Logger,
  ) {
    this.slots = new Slots(m.ordering === 'ordered' ? Number.POSITIVE_INFINITY : deps.maxInFlight);
  }

  async start(): Promise<void> {
    this.consumer = await this.deps.client.groupConsumer(
      {
        groupId: this.m.consumerGroup,
        topics: this.m.topics,
        fromBeginning: this.m.initialOffset === 'earliest',
        autoCommit: false,
        // Partitions run side by side; within one, the adapter keeps order. In ordered mode that is
        // the one-in-flight-per-partition rule; unordered mode returns from the handler at once.
        partitionsConsumedConcurrently: 64,
        onCrash: (err, restarting) =>
          (restarting ? this.log.warn : this.log.error).call(
            this.log,
            { err, restarting },
            'consumer crashed; Kafka records wait until it recovers',
          ),
      },
      (rec, ctx) => this.onRecord(rec, ctx),
    );
    void this.consumer.joined().then(
      (a) => {
        this.joined = true;
        this.log.info({ memberId: a.memberId, partitions: a.partitions }, 'joined consumer group');
      },
      () => {},
    );
    this.commitTimer = setInterval(() => void this.commit(), this.deps.commitIntervalMs);
    this.commitTimer.unref();
  }

  private async onRecord(rec: IncomingRecord, ctx: RecordContext): Promise<void> {
    // Records handed over while stopping are never tracked, so never committed: they come again.
    if (this.stopping) return;
    if (this.m.ordering === 'unordered') {
      const ok = await withHeartbeat(this.slots.acquire(), ctx);
      if (!ok || this.stopping) {
        if (ok) this.slots.release();
        return;
      }
      const gen = this.book.partition(rec.topic, rec.partition).track(rec.offset);
      const work = this.process(rec, gen).finally(() => this.slots.release());
      this.hold(work);
      return;
    }
    const gen = this.book.partition(rec.topic, rec.partition).track(rec.offset);
    const work = this.process(rec, gen);
    this.hold(work);
    await withHeartbeat(work, ctx);
  }

  private hold(work: Promise<void>): void {
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  /** Never rejects: every path ends in an outcome, or in abandonment at shutdown. */
  private async process(rec: IncomingRecord, generation: number): Promise<void> {
    const source = this.m.name;
    const { metrics } = this.deps;
    let ev: DispatchEvent | undefined;
    let outcome: FinalOutcome = 'dropped';
    let attempts = 0;
    metrics.dispatcherInflight.inc({ source });
    try {
      ev = recordToEvent(rec, this.m, this.m.ceOverrides);
      if (ev.wrapped) metrics.dispatcherWrapped.inc({ source });
      const headers = httpBinaryHeaders(ev, this.m.namespace);
      const result: Outcome = await dispatchWithRetry(this.deps.sinkUrl, headers, ev.data, {
        ...this.m.delivery,
        signal: this.abort.signal,
        onAttempt: (a, ms, n) => {
          metrics.dispatcherAttempts.inc({ source, result: attemptLabel(a) });
          metrics.dispatcherLatency.observe({ source }, ms / 1000);
          if (n > 1) metrics.dispatcherRetries.inc({ source });
        },
      });
      attempts = result.attempts;
      if (result.result === 'aborted') return;
      if (result.result === 'delivered') {
        outcome = 'delivered';
        if (this.deps.duplicateRatio > 0 && this.deps.random() < this.deps.duplicateRatio) {
          metrics.dispatcherDuplicates.inc({ source });
          await postOnce(this.deps.sinkUrl, headers, ev.data, this.m.delivery.timeoutMs, this.abort.signal);
        }
      } else {
        outcome = await this.deadLetter(rec, ev, result.last);
      }
    } catch (err) {
      // Knative discards what it cannot handle and commits past it; so does this, loudly.
      this.log.error(
        { err, topic: rec.topic, partition: rec.partition, offset: rec.offset },
        'record dropped',
      );
      outcome = 'dropped';
    } finally {
      metrics.dispatcherInflight.dec({ source });
    }
    metrics.dispatcherDeliveries.inc({ source, outcome });
    this.book.partition(rec.topic, rec.partition).complete(rec.offset, generation);
    if (ev) {
      this.deps.onOutcome?.({
        source,
        topic: rec.topic,
        partition: rec.partition,
        offset: rec.offset,
        outcome,
        attempts,
        event: ev,
      });
    }
  }

  private async deadLetter(rec: IncomingRecord, ev: DispatchEvent, last: Attempt): Promise<FinalOutcome> {
    const source = this.m.name;
    const code = last.kind === 'response' ? String(last.status) : last.reason;
    const where = {
      topic: rec.topic,
      partition: rec.partition,
      offset: rec.offset,
      id: ev.attributes.id,
      code,
    };
    const dls = this.deps.deadLetters;
    if (!dls) {
      this.log.warn(where, 'delivery failed and the source has no deadLetterSink: event dropped');
      return 'dropped';
    }
    const failed = withErrorExtensions(ev, {
      destination: this.deps.sinkUrl,
      ...(last.kind === 'response'
        ? { status: last.status, body: last.body, responseHeaders: last.headers }
        : {}),
    });
    try {
      if (dls.kind === 'kafka') {
        await dls.send(dls.topic, toKafkaBinary(failed, rec.key));
      } else {
        const a = await postOnce(
          dls.url,
          httpBinaryHeaders(failed, this.m.namespace),
          failed.data,
          this.m.delivery.timeoutMs,
        );
        if (a.kind !== 'response' || a.status < 200 || a.status >= 300) {
          throw new Error(`dead-letter sink answered ${a.kind === 'response' ? a.status : a.reason}`);
        }
      }
    } catch (err) {
      // As in Knative: a failed dead-letter send still commits the offset, and the event is lost.
      this.log.error({ ...where, err }, 'dead-letter sink failed: event dropped');
      return 'dropped';
    }
    this.deps.metrics.dispatcherDeadLetters.inc({ source, code });
    this.log.warn(where, 'event dead-lettered');
    return 'dead_lettered';
  }

  private async commitNow(): Promise<void> {
    const list = this.book.committable();
    if (list.length > 0 && this.consumer) {
      try {
        await this.consumer.commit(list);
        this.book.markCommitted(list);
      } catch (err) {
        // Usually a rebalance; the partition's new owner starts from the last good commit.
        this.log.warn({ err, offsets: list }, 'offset commit failed; will retry');
      }
    }
    // Every tick, not only after a commit: a stuck partition is exactly when lag matters.
    if (this.deps.endOffsets) await this.sampleLag(this.book.committed()).catch(() => {});
  }

  private async sampleLag(
    list: readonly { topic: string; partition: number; offset: string }[],
  ): Promise<void> {
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const c of list) byTopic.set(c.topic, [...(byTopic.get(c.topic) ?? []), c]);
    for (const [topic, parts] of byTopic) {
      const ends = await this.deps.endOffsets!(topic);
      for (const { partition, offset } of parts) {
        const end = ends[partition];
        if (end === undefined) continue;
        const lag = Number(BigInt(end) - BigInt(offset));
        this.deps.metrics.dispatcherLag.set(
          { source: this.m.name, topic, partition: String(partition) },
          Math.max(0, lag),
        );
      }
    }
  }

  /**
   * Stops taking records, lets in-flight deliveries finish for up to `graceMs`, abandons the rest (they are
   * not committed, so they come again after a restart), commits and leaves the group.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.slots.close();
    if (this.inflight.size > 0) {
      const grace = new AbortController();
      await Promise.race([
        Promise.allSettled([...this.inflight]),
        sleep(graceMs, undefined, { signal: grace.signal }).catch(() => {}),
      ]);
      grace.abort();
    }
    this.abort.abort();
    await Promise.allSettled([...this.inflight]);
    if (this.commitTimer) clearInterval(this.commitTimer);
    await this.commit();
    await this.consumer?.stop();
  }

  pending(): number {
    return this.book.pending();
  }
}

export class KafkaSourceRunner {
  private readonly members: Member[] = [];
  private readonly log: Logger;
  private stopped = false;
  private started: Promise<void> | undefined;

  constructor(
    readonly manifest: KafkaSourceManifest,
    private readonly deps: KafkaSourceDeps,
  ) {
    this.log = deps.logger.child({ source: manifest.name, consumerGroup: manifest.consumerGroup });
  }

  /** Waits for the topics to exist (the bridge or the runtime creates them), then joins the group. */
  start(): Promise<void> {
    this.started ??= this.startNow();
    return this.started;
  }

  private async startNow(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const existing = new Set(await this.deps.listTopics().catch(() => [] as string[]));
      const missing = this.manifest.topics.filter((t) => !existing.has(t));
      if (missing.length === 0) break;
      this.log.warn({ missing }, 'waiting for topics to exist');
      await sleep(this.deps.topicWaitMs);
    }
    for (let i = 0; i < this.manifest.consumers; i++) {
      if (this.stopped) return;
      const member = new Member(this.manifest, this.deps, this.log.child({ member: i }));
      await member.start();
      this.members.push(member);
    }
    this.log.info(
      {
        topics: this.manifest.topics,
        ordering: this.manifest.ordering,
        sink: this.deps.sinkUrl,
        delivery: this.manifest.delivery,
      },
      'KafkaSource started',
    );
  }

  /** Every member has completed a group join. */
  ready(): boolean {
    return this.members.length === this.manifest.consumers && this.members.every((m) => m.joined);
  }

  async commit(): Promise<void> {
    await Promise.all(this.members.map((m) => m.commit()));
  }

  pending(): number {
    return this.members.reduce((n, m) => n + m.pending(), 0);
  }

  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    await this.started?.catch(() => {});
    await Promise.all(this.members.map((m) => m.stop(graceMs)));
  }
}
