/**
 * The local stand-in for Knative's KafkaSource and PingSource data planes, built from the manifests.
 * Production runs the real ones; this exists so the pipeline runs and is tested on one machine against
 * the same `knative/` objects.
 */
import type { Registry } from 'prom-client';
import type { KafkaClient, RecordProducer } from '../../shared/kafka/types.ts';
import type { Logger } from '../../shared/observability/logger.ts';
import { registerMetrics } from '../../shared/observability/metrics.ts';
import { type Attempt, postOnce } from './dispatch.ts';
import { httpBinaryHeaders, pingEvent } from './events.ts';
import {
  type DeadLetterTarget,
  DISPATCHER_METRICS,
  KafkaSourceRunner,
  type OutcomeReport,
} from './kafka-source.ts';
import type { Destination, KafkaSourceManifest, Manifests, PingSourceManifest } from './manifests.ts';
import { PingScheduler, type PingTrigger } from './ping-source.ts';

export class DispatcherSetupError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`dispatcher cannot start:\n  - ${problems.join('\n  - ')}`);
    this.name = 'DispatcherSetupError';
  }
}

/**
 * Sink refs name Knative addressables that do not exist locally; `sinks` maps them to URLs, by
 * `name` or `namespace/name`. A `uri` alone is used as-is; `ref` plus `uri` resolves the uri against the
 * ref's address, as Knative does.
 */
export function resolveDestination(
  dest: Destination,
  sinks: Readonly<Record<string, string>>,
): { url: string } | { problem: string } {
  if (!dest.ref) return { url: dest.uri! };
  const { name, namespace, kind } = dest.ref;
  const base = sinks[`${namespace}/${name}`] ?? sinks[name];
  if (base === undefined) {
    return {
      problem: `no URL for ${kind} ${namespace}/${name}: add ${name}=http://127.0.0.1:PORT to DISPATCHER_SINKS`,
    };
  }
  return { url: dest.uri ? new URL(dest.uri, base).toString() : base };
}

export interface DispatcherOptions {
  readonly manifests: Manifests;
  readonly sinks: Readonly<Record<string, string>>;
  /** Source names to run (KafkaSources and PingSources); undefined runs them all. */
  readonly sources?: readonly string[];
  /** Needed when any KafkaSource runs. */
  readonly kafka?: KafkaClient;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly commitIntervalMs: number;
  readonly maxInFlight: number;
  readonly shutdownGraceMs: number;
  readonly duplicateRatio: number;
  readonly random?: () => number;
  readonly pingTimeoutMs: number;
  /** false: PingSources fire only through `triggerPing` (tests). */
  readonly pingSchedule: boolean;
  readonly topicWaitMs?: number;
  readonly onOutcome?: (r: OutcomeReport) => void;
}

export interface Dispatcher {
  /** All KafkaSource members joined their groups. */
  ready(): boolean;
  readonly kafkaSources: readonly string[];
  readonly pingSources: readonly string[];
  /** Sends a PingSource's event now; resolves with the sink's answer. */
  triggerPing(name: string): Promise<Attempt>;
  /** Commits every completed offset now (the timer does this every commit interval). */
  commit(): Promise<void>;
  /** Stop taking records, finish or abandon in-flight ones, commit, leave the groups. */
  stop(): Promise<void>;
}

function selected(names: readonly string[] | undefined, all: Manifests): Set<string> {
  const known = new Set([...all.kafkaSources, ...all.pingSources].map((s) => s.name));
  if (!names) return known;
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new DispatcherSetupError([
      `DISPATCHER_SOURCES names ${unknown.join(', ')}, not in the manifests (have ${[...known].join(', ')})`,
    ]);
  }
  return new Set(names);
}

function deadLetterTarget(
  s: KafkaSourceManifest,
  o: DispatcherOptions,
  producer: () => Promise<RecordProducer>,
  problems: string[],
): DeadLetterTarget | undefined {
  const dls = s.delivery.deadLetterSink;
  if (!dls) return undefined;
  if (dls.ref?.kind === 'KafkaSink') {
    const ref = dls.ref;
    const sink = o.manifests.kafkaSinks.find((k) => k.name === ref.name && k.namespace === ref.namespace);
    if (!sink) {
      problems.push(
        `KafkaSource ${s.name}: deadLetterSink KafkaSink ${ref.namespace}/${ref.name} is not in the manifests`,
      );
      return undefined;
    }
    return {
      kind: 'kafka',
      topic: sink.topic,
      send: async (topic, rec) => {
        await (await producer()).send(topic, [rec]);
      },
    };
  }
  const r = resolveDestination(dls, o.sinks);
  if ('problem' in r) {
    problems.push(`KafkaSource ${s.name} deadLetterSink: ${r.problem}`);
    return undefined;
  }
  return { kind: 'http', url: r.url };
}

export async function startDispatcher(o: DispatcherOptions): Promise<Dispatcher> {
  const only = selected(o.sources, o.manifests);
  const kafkaSources = o.manifests.kafkaSources.filter((s) => only.has(s.name));
  const pingSources = o.manifests.pingSources.filter((s) => only.has(s.name));
  const metrics = registerMetrics(o.registry, DISPATCHER_METRICS);
  const log = o.logger;
  const problems: string[] = [];

  let producer: Promise<RecordProducer> | undefined;
  const getProducer = () => {
    producer ??= o.kafka!.producer();
    return producer;
  };
  if (kafkaSources.length > 0 && !o.kafka) problems.push('KafkaSources need a Kafka client');

  const runners: KafkaSourceRunner[] = [];
  const dlsTopics = new Map<string, number>();
  let admin: ReturnType<KafkaClient['admin']> | undefined;
  const getAdmin = () => {
    admin ??= o.kafka!.admin();
    return admin;
  };
  for (const s of kafkaSources) {
    const sink = resolveDestination(s.sink, o.sinks);
    if ('problem' in sink) {
      problems.push(`KafkaSource ${s.name} sink: ${sink.problem}`);
      continue;
    }
    const deadLetters = deadLetterTarget(s, o, getProducer, problems);
    if (deadLetters?.kind === 'kafka') {
      const ks = o.manifests.kafkaSinks.find((k) => k.topic === deadLetters.topic);
      dlsTopics.set(deadLetters.topic, ks?.numPartitions ?? 1);
    }
    if (!o.kafka) continue;
    runners.push(
      new KafkaSourceRunner(s, {
        client: o.kafka,
        sinkUrl: sink.url,
        ...(deadLetters ? { deadLetters } : {}),
        metrics,
        logger: log,
        commitIntervalMs: o.commitIntervalMs,
        maxInFlight: o.maxInFlight,
        duplicateRatio: o.duplicateRatio,
        random: o.random ?? Math.random,
        topicWaitMs: o.topicWaitMs ?? 2000,
        listTopics: async () => (await getAdmin()).listTopics(),
        endOffsets: async (topic) => (await getAdmin()).endOffsets(topic),
        ...(o.onOutcome ? { onOutcome: o.onOutcome } : {}),
      }),
    );
  }

  const pingTargets = new Map<string, string>();
  for (const p of pingSources) {
    const sink = resolveDestination(p.sink, o.sinks);
    if ('problem' in sink) problems.push(`PingSource ${p.name} sink: ${sink.problem}`);
    else pingTargets.set(p.name, sink.url);
  }
  if (problems.length > 0) throw new DispatcherSetupError(problems);

  // A KafkaSink creates its topic; so does its local stand-in, before any event can need it.
  for (const [topic, partitions] of dlsTopics) await (await getAdmin()).ensureTopic(topic, partitions);

  const sendPing = async (ps: PingSourceManifest, at: Date, trigger: PingTrigger): Promise<Attempt> => {
    const ev = pingEvent(ps, at);
    const a = await postOnce(
      pingTargets.get(ps.name)!,
      httpBinaryHeaders(ev, ps.namespace),
      ev.data,
      o.pingTimeoutMs,
    );
    const ok = a.kind === 'response' && a.status >= 200 && a.status < 300;
    metrics.dispatcherPings.inc({ source: ps.name, trigger, outcome: ok ? 'delivered' : 'failed' });
    const fields = {
      source: ps.name,
      trigger,
      id: ev.attributes.id,
      status: a.kind === 'response' ? a.status : a.reason,
    };
    if (ok) log.info(fields, 'ping delivered');
    else log.warn(fields, 'ping not delivered (PingSource does not retry; the next tick will)');
    return a;
  };
  const scheduler = new PingScheduler(pingSources, sendPing);
  if (o.pingSchedule) scheduler.start();

  // Joining can wait on a topic that does not exist yet: start in the background, readiness tells.
  for (const r of runners) {
    r.start().catch((err) => log.error({ err, source: r.manifest.name }, 'KafkaSource failed to start'));
  }

  let stopping: Promise<void> | undefined;
  return {
    kafkaSources: runners.map((r) => r.manifest.name),
    pingSources: scheduler.names(),
    ready: () => runners.every((r) => r.ready()),
    triggerPing: (name) => scheduler.trigger(name),
    commit: async () => {
      await Promise.all(runners.map((r) => r.commit()));
    },
    stop() {
      stopping ??= (async () => {
        await scheduler.stop();
        await Promise.all(runners.map((r) => r.stop(o.shutdownGraceMs)));
        if (producer) await (await producer).close().catch(() => {});
        if (admin) await (await admin).close().catch(() => {});
        log.info('dispatcher stopped');
      })();
      return stopping;
    },
  };
}
