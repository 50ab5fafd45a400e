import { type Env, loadConfig, type Setting } from '../../shared/config/env.ts';
import * as p from '../../shared/config/parsers.ts';

/** `key=value` pairs, comma-separated, each value parsed by `value`. */
function pairs(what: string, value: (raw: string) => string) {
  return (raw: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const item of p.list()(raw)) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new Error(`expected ${what}, got ${JSON.stringify(item)}`);
      const name = item.slice(0, eq).trim();
      if (name in out) throw new Error(`${name} is mapped twice`);
      out[name] = value(item.slice(eq + 1).trim());
    }
    return out;
  };
}

/** `name=url` pairs: which local URL stands for each Knative Service a sink ref names. */
export const sinkMap = pairs('name=url', p.url(['http', 'https']));

/** `manifest-topic=local-topic` pairs. */
export const topicMap = pairs('topic=topic', p.identifier(/^[A-Za-z0-9._-]{1,200}$/, 'a Kafka topic name'));

export const dispatcherSpec = {
  manifests: {
    env: 'DISPATCHER_MANIFESTS',
    doc: 'Kustomization folder (rendered by `kubectl kustomize`) or YAML file holding the KafkaSource/PingSource/KafkaSink objects',
    parse: p.text,
    default: 'knative/overlays/local',
  } satisfies Setting<string>,
  sinks: {
    env: 'DISPATCHER_SINKS',
    doc: 'Local URL of each sink ref, `name=url` comma-separated (e.g. trade-writer=http://127.0.0.1:8081); key `name` or `namespace/name`',
    parse: sinkMap,
    default: undefined,
  } satisfies Setting<Record<string, string> | undefined>,
  topics: {
    env: 'DISPATCHER_TOPICS',
    doc: 'Local name of a topic the manifests name, `manifest=local` comma-separated (e.g. market=market-dev,market-dead-letters=market-dev-dead-letters)',
    parse: topicMap,
    default: undefined,
  } satisfies Setting<Record<string, string> | undefined>,
  sources: {
    env: 'DISPATCHER_SOURCES',
    doc: 'Names of the sources to run, comma-separated (unset: every KafkaSource and PingSource in the manifests)',
    parse: p.list(),
    default: undefined,
  } satisfies Setting<string[] | undefined>,
  host: {
    env: 'DISPATCHER_HOST',
    doc: 'Address of the health/readiness/metrics/ping HTTP server',
    parse: p.text,
    default: '127.0.0.1',
  } satisfies Setting<string>,
  port: {
    env: 'DISPATCHER_PORT',
    doc: 'Port of the health/readiness/metrics/ping HTTP server (0: any free port)',
    parse: p.int({ min: 0, max: 65535 }),
    default: 8070,
  } satisfies Setting<number>,
  commitIntervalMs: {
    env: 'DISPATCHER_COMMIT_INTERVAL_MS',
    doc: 'How often completed offsets are committed (Knative: 5000; shorter locally so restarts redeliver less)',
    parse: p.int({ min: 50, max: 600_000 }),
    default: 1000,
  } satisfies Setting<number>,
  maxInFlight: {
    env: 'DISPATCHER_MAX_INFLIGHT',
    doc: 'unordered sources: events in flight per consumer (Knative: max.poll.records = 50)',
    parse: p.int({ min: 1, max: 10_000 }),
    default: 50,
  } satisfies Setting<number>,
  shutdownGraceMs: {
    env: 'DISPATCHER_SHUTDOWN_GRACE_MS',
    doc: 'On SIGTERM/SIGINT, how long in-flight deliveries may finish before they are abandoned (uncommitted, redelivered later)',
    parse: p.int({ min: 0, max: 600_000 }),
    default: 10_000,
  } satisfies Setting<number>,
  duplicateRatio: {
    env: 'DISPATCHER_DUPLICATE_RATIO',
    doc: 'TEST ONLY chaos: share (0..1) of delivered events POSTed a second time, to prove the functions are idempotent',
    parse: p.num({ min: 0, max: 1 }),
    default: 0,
  } satisfies Setting<number>,
  pingSchedule: {
    env: 'DISPATCHER_PING_SCHEDULE',
    doc: 'Fire PingSources on their cron schedule (false: only on POST /ping/<name>)',
    parse: p.bool,
    default: true,
  } satisfies Setting<boolean>,
  pingTimeoutMs: {
    env: 'DISPATCHER_PING_TIMEOUT_MS',
    doc: 'Timeout of one PingSource delivery',
    parse: p.int({ min: 1, max: 600_000 }),
    default: 30_000,
  } satisfies Setting<number>,
} as const;

export type DispatcherConfig = ReturnType<typeof loadDispatcherConfig>;
export const loadDispatcherConfig = (env: Env = process.env) => loadConfig(dispatcherSpec, env);
