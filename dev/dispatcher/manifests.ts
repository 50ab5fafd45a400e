/**
 * Reads the KafkaSource / PingSource / KafkaSink objects of `knative/` into the settings the local
 * dispatcher runs on. The manifests are the single source of truth: nothing here invents a retry count or
 * an ordering that the YAML does not say, and Knative's own defaults apply exactly where Knative applies them.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

export type BackoffPolicy = 'linear' | 'exponential';
export type Ordering = 'ordered' | 'unordered';

/** A Knative `Destination`: `ref` to an addressable, or `uri`, or both (uri then resolves against ref). */
export interface Destination {
  readonly ref?: {
    readonly apiVersion?: string;
    readonly kind: string;
    readonly name: string;
    readonly namespace: string;
  };
  readonly uri?: string;
}

export interface Delivery {
  readonly retry: number;
  readonly backoffPolicy: BackoffPolicy;
  readonly backoffDelayMs: number;
  /** Per attempt. */
  readonly timeoutMs: number;
  readonly deadLetterSink?: Destination;
}

export interface KafkaSourceManifest {
  readonly kind: 'KafkaSource';
  readonly name: string;
  readonly namespace: string;
  readonly topics: readonly string[];
  readonly consumerGroup: string;
  readonly initialOffset: 'earliest' | 'latest';
  readonly ordering: Ordering;
  /** Group members ("virtual replicas"); each has its own in-flight bound. */
  readonly consumers: number;
  readonly delivery: Delivery;
  readonly sink: Destination;
  readonly ceOverrides: Readonly<Record<string, string>>;
}

export interface PingSourceManifest {
  readonly kind: 'PingSource';
  readonly name: string;
  readonly namespace: string;
  readonly schedule: string;
  readonly timezone?: string;
  readonly contentType?: string;
  readonly data?: Buffer;
  readonly sink: Destination;
}

export interface KafkaSinkManifest {
  readonly kind: 'KafkaSink';
  readonly name: string;
  readonly namespace: string;
  readonly topic: string;
  /** Partitions of the topic the dispatcher creates: the sink's own `numPartitions` or, as in the cluster
   * where the topic is owned by a Strimzi KafkaTopic, that KafkaTopic's `partitions`. */
  readonly numPartitions: number;
}

export interface Manifests {
  readonly kafkaSources: readonly KafkaSourceManifest[];
  readonly pingSources: readonly PingSourceManifest[];
  readonly kafkaSinks: readonly KafkaSinkManifest[];
}

/**
 * The manifests with topics renamed (`from -> to`), as a cluster's overlay would patch them: the local stack
 * runs them against its own topic (`KAFKA_TOPIC`) without editing the committed YAML.
 */
export function renameTopics(m: Manifests, rename: Readonly<Record<string, string>>): Manifests {
  const to = (t: string) => rename[t] ?? t;
  return {
    kafkaSources: m.kafkaSources.map((s) => ({ ...s, topics: s.topics.map(to) })),
    pingSources: m.pingSources,
    kafkaSinks: m.kafkaSinks.map((s) => ({ ...s, topic: to(s.topic) })),
  };
}

/** What Knative uses when `spec.delivery` is absent (control-plane/pkg/reconciler/source/source.go). */
export const KNATIVE_DEFAULT_DELIVERY: Delivery = Object.freeze({
  retry: 10,
  backoffPolicy: 'exponential',
  backoffDelayMs: 300,
  timeoutMs: 600_000,
});
/** With `delivery` present, a missing backoffDelay is 200 ms and a missing timeout the sender's 10 min. */
const EXPLICIT_DELIVERY_BACKOFF_MS = 200;
const DEFAULT_TIMEOUT_MS = 600_000;

export class ManifestError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid Knative manifests:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ManifestError';
  }
}

const DURATION =
  /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** ISO-8601 durations as Knative writes them (`PT0.5S`, `PT1M`, `P1DT2H`); years and months have no fixed length. */
export function parseIsoDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) {
    throw new Error(`${JSON.stringify(text)} is not an ISO-8601 duration like PT0.5S`);
  }
  const [, w, d, h, min, s] = m.map((x) => (x === undefined ? 0 : Number(x))) as number[];
  return Math.round(((((w! * 7 + d!) * 24 + h!) * 60 + min!) * 60 + s!) * 1000);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Collects every problem of every object, so one run shows all fixes needed. */
class Problems {
  readonly list: string[] = [];
  add(where: string, what: string): void {
    this.list.push(`${where}: ${what}`);
  }
}

function str(o: Obj, key: string, where: string, p: Problems, required = true): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') {
    if (required) p.add(where, `${key} is required`);
    return undefined;
  }
  if (typeof v !== 'string') {
    p.add(where, `${key} must be a string`);
    return undefined;
  }
  return v;
}

function destination(raw: unknown, namespace: string, where: string, p: Problems): Destination | undefined {
  if (!isObj(raw)) {
    p.add(where, 'must be a Destination with ref or uri');
    return undefined;
  }
  const out: { ref?: Destination['ref']; uri?: string } = {};
  if (raw.ref !== undefined) {
    if (!isObj(raw.ref)) p.add(`${where}.ref`, 'must be an object');
    else {
      const kind = str(raw.ref, 'kind', `${where}.ref`, p);
      const name = str(raw.ref, 'name', `${where}.ref`, p);
      const apiVersion = str(raw.ref, 'apiVersion', `${where}.ref`, p, false);
      const ns = str(raw.ref, 'namespace', `${where}.ref`, p, false) ?? namespace;
      if (kind && name) out.ref = { kind, name, namespace: ns, ...(apiVersion ? { apiVersion } : {}) };
    }
  }
  if (raw.uri !== undefined) {
    const uri = str(raw, 'uri', where, p);
    if (uri !== undefined) out.uri = uri;
  }
  if (!out.ref && out.uri === undefined) {
    p.add(where, 'needs ref or uri');
    return undefined;
  }
  return out;
}

function delivery(raw: unknown, where: string, namespace: string, p: Problems): Delivery {
  if (raw === undefined || raw === null) return KNATIVE_DEFAULT_DELIVERY;
  if (!isObj(raw)) {
    p.add(where, 'must be an object');
    return KNATIVE_DEFAULT_DELIVERY;
  }
  // The trap this mirrors: once `delivery` is set, nothing falls back to the 10-retry default.
  let retry = 0;
  if (raw.retry !== undefined) {
    if (typeof raw.retry !== 'number' || !Number.isInteger(raw.retry) || raw.retry < 0) {
      p.add(`${where}.retry`, 'must be an integer >= 0');
    } else retry = raw.retry;
  }
  let backoffPolicy: BackoffPolicy = 'exponential';
  if (raw.backoffPolicy !== undefined) {
    if (raw.backoffPolicy === 'linear' || raw.backoffPolicy === 'exponential')
      backoffPolicy = raw.backoffPolicy;
    else p.add(`${where}.backoffPolicy`, 'must be linear or exponential');
  }
  const duration = (key: string, fallback: number): number => {
    const v = raw[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string') {
      p.add(`${where}.${key}`, 'must be an ISO-8601 duration string');
      return fallback;
    }
    try {
      return parseIsoDuration(v);
    } catch (err) {
      p.add(`${where}.${key}`, (err as Error).message);
      return fallback;
    }
  };
  const backoffDelayMs = duration('backoffDelay', EXPLICIT_DELIVERY_BACKOFF_MS);
  const timeoutMs = duration('timeout', DEFAULT_TIMEOUT_MS);
  if (timeoutMs <= 0) p.add(`${where}.timeout`, 'must be longer than zero');
  const out: { -readonly [K in keyof Delivery]: Delivery[K] } = {
    retry,
    backoffPolicy,
    backoffDelayMs,
    timeoutMs,
  };
  if (raw.deadLetterSink !== undefined) {
    const dls = destination(raw.deadLetterSink, namespace, `${where}.deadLetterSink`, p);
    if (dls) out.deadLetterSink = dls;
  }
  return out;
}

function kafkaSource(
  doc: Obj,
  name: string,
  namespace: string,
  p: Problems,
): KafkaSourceManifest | undefined {
  const where = `KafkaSource ${namespace}/${name}`;
  const spec = doc.spec;
  if (!isObj(spec)) {
    p.add(where, 'spec is required');
    return undefined;
  }
  const topics = spec.topics;
  if (
    !Array.isArray(topics) ||
    topics.length === 0 ||
    !topics.every((t) => typeof t === 'string' && t !== '')
  ) {
    p.add(where, 'spec.topics must be a non-empty list of topic names');
  }
  let initialOffset: 'earliest' | 'latest' = 'latest';
  if (spec.initialOffset !== undefined) {
    if (spec.initialOffset === 'earliest' || spec.initialOffset === 'latest')
      initialOffset = spec.initialOffset;
    else p.add(where, 'spec.initialOffset must be earliest or latest');
  }
  let ordering: Ordering = 'ordered';
  if (spec.ordering !== undefined) {
    if (spec.ordering === 'ordered' || spec.ordering === 'unordered') ordering = spec.ordering;
    else p.add(where, 'spec.ordering must be ordered or unordered');
  }
  let consumers = 1;
  if (spec.consumers !== undefined) {
    if (typeof spec.consumers === 'number' && Number.isInteger(spec.consumers) && spec.consumers >= 1) {
      consumers = spec.consumers;
    } else p.add(where, 'spec.consumers must be an integer >= 1');
  }
  const ceOverrides: Record<string, string> = {};
  const ext = isObj(spec.ceOverrides) ? spec.ceOverrides.extensions : undefined;
  if (ext !== undefined) {
    if (!isObj(ext)) p.add(where, 'spec.ceOverrides.extensions must be a map');
    else
      for (const [k, v] of Object.entries(ext)) {
        if (!/^[a-z0-9]{1,20}$/.test(k))
          p.add(where, `ceOverrides extension name ${JSON.stringify(k)} is not [a-z0-9]+`);
        else ceOverrides[k] = String(v);
      }
  }
  const sink = destination(spec.sink, namespace, `${where} spec.sink`, p);
  const consumerGroup =
    str(spec, 'consumerGroup', where, p, false) ??
    // What the Knative webhook does for an empty group: offsets then do not survive re-creating the source.
    `knative-kafka-source-${randomUUID()}`;
  if (!sink || !Array.isArray(topics)) return undefined;
  return {
    kind: 'KafkaSource',
    name,
    namespace,
    topics: topics as string[],
    consumerGroup,
    initialOffset,
    ordering,
    consumers,
    delivery: delivery(spec.delivery, `${where} spec.delivery`, namespace, p),
    sink,
    ceOverrides,
  };
}

function pingSource(doc: Obj, name: string, namespace: string, p: Problems): PingSourceManifest | undefined {
  const where = `PingSource ${namespace}/${name}`;
  const spec = doc.spec;
  if (!isObj(spec)) {
    p.add(where, 'spec is required');
    return undefined;
  }
  const schedule = str(spec, 'schedule', where, p);
  const timezone = str(spec, 'timezone', where, p, false);
  const contentType = str(spec, 'contentType', where, p, false);
  const text = str(spec, 'data', where, p, false);
  const b64 = str(spec, 'dataBase64', where, p, false);
  if (text !== undefined && b64 !== undefined) p.add(where, 'spec.data and spec.dataBase64 are exclusive');
  const data =
    text !== undefined
      ? Buffer.from(text, 'utf8')
      : b64 !== undefined
        ? Buffer.from(b64, 'base64')
        : undefined;
  const sink = destination(spec.sink, namespace, `${where} spec.sink`, p);
  if (!schedule || !sink) return undefined;
  return {
    kind: 'PingSource',
    name,
    namespace,
    schedule,
    sink,
    ...(timezone ? { timezone } : {}),
    ...(contentType ? { contentType } : {}),
    ...(data ? { data } : {}),
  };
}

function kafkaSink(doc: Obj, name: string, namespace: string, p: Problems): KafkaSinkManifest | undefined {
  const where = `KafkaSink ${namespace}/${name}`;
  const spec = doc.spec;
  if (!isObj(spec)) {
    p.add(where, 'spec is required');
    return undefined;
  }
  const topic = str(spec, 'topic', where, p);
  if (spec.contentMode !== undefined && spec.contentMode !== 'binary') {
    // The dispatcher writes dead letters in binary mode only; refusing beats silently differing from prod.
    p.add(where, 'only contentMode binary is emulated locally');
  }
  let numPartitions: number | undefined;
  if (spec.numPartitions !== undefined) {
    if (
      typeof spec.numPartitions === 'number' &&
      Number.isInteger(spec.numPartitions) &&
      spec.numPartitions >= 1
    ) {
      numPartitions = spec.numPartitions;
    } else p.add(where, 'spec.numPartitions must be an integer >= 1');
  }
  return topic ? { kind: 'KafkaSink', name, namespace, topic, numPartitions: numPartitions ?? 0 } : undefined;
}

/** Parses multi-document YAML (as `kubectl kustomize` prints it); objects of other kinds are ignored. */
export function parseManifests(text: string, opts: { defaultNamespace?: string } = {}): Manifests {
  const p = new Problems();
  const kafkaSources: KafkaSourceManifest[] = [];
  const pingSources: PingSourceManifest[] = [];
  const kafkaSinks: KafkaSinkManifest[] = [];
  const topicPartitions = new Map<string, number>();
  for (const [i, d] of parseAllDocuments(text).entries()) {
    if (!('errors' in d) || d.errors.length > 0) {
      const errs = 'errors' in d ? d.errors.map((e) => e.message).join('; ') : 'unreadable';
      p.add(`document ${i + 1}`, `YAML error: ${errs}`);
      continue;
    }
    const doc: unknown = d.toJS();
    if (doc === null || doc === undefined) continue;
    if (!isObj(doc)) {
      p.add(`document ${i + 1}`, 'is not an object');
      continue;
    }
    const kind = doc.kind;
    const apiVersion = String(doc.apiVersion ?? '');
    const meta = isObj(doc.metadata) ? doc.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : undefined;
    const namespace =
      typeof meta.namespace === 'string' ? meta.namespace : (opts.defaultNamespace ?? 'default');
    if (kind === 'KafkaTopic' && apiVersion.startsWith('kafka.strimzi.io/') && name) {
      const partitions = isObj(doc.spec) ? doc.spec.partitions : undefined;
      if (typeof partitions === 'number' && Number.isInteger(partitions) && partitions >= 1)
        topicPartitions.set(name, partitions);
      continue;
    }
    const known =
      (kind === 'KafkaSource' && apiVersion.startsWith('sources.knative.dev/')) ||
      (kind === 'PingSource' && apiVersion.startsWith('sources.knative.dev/')) ||
      (kind === 'KafkaSink' && apiVersion.startsWith('eventing.knative.dev/'));
    if (!known) continue;
    if (!name) {
      p.add(`${String(kind)} in document ${i + 1}`, 'metadata.name is required');
      continue;
    }
    if (kind === 'KafkaSource') {
      const s = kafkaSource(doc, name, namespace, p);
      if (s) kafkaSources.push(s);
    } else if (kind === 'PingSource') {
      const s = pingSource(doc, name, namespace, p);
      if (s) pingSources.push(s);
    } else {
      const s = kafkaSink(doc, name, namespace, p);
      if (s) kafkaSinks.push(s);
    }
  }
  const seen = new Set<string>();
  for (const o of [...kafkaSources, ...pingSources]) {
    // Metrics, logs and DISPATCHER_SOURCES address sources by name alone.
    if (seen.has(o.name)) p.add(`${o.kind} ${o.namespace}/${o.name}`, 'source names must be unique');
    seen.add(o.name);
  }
  if (p.list.length > 0) throw new ManifestError(p.list);
  const sinks = kafkaSinks.map((k) =>
    k.numPartitions > 0 ? k : { ...k, numPartitions: topicPartitions.get(k.topic) ?? 1 },
  );
  return { kafkaSources, pingSources, kafkaSinks: sinks };
}

export type Renderer = 'auto' | 'kubectl' | 'files';

const run = promisify(execFile);

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, cmd)));
}

/**
 * A kustomization rendered without kubectl: follows `resources` (files and folders) and applies
 * `namespace`. Anything else a kustomization can do (patches, components, generators) changes objects in ways
 * this walker would silently miss, so it refuses instead and asks for kubectl.
 */
function renderFiles(dir: string, inherited?: string): string[] {
  const kfile = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']
    .map((f) => join(dir, f))
    .find((f) => existsSync(f));
  if (!kfile) {
    return readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => readFileSync(join(dir, f), 'utf8'));
  }
  const k = parseAllDocuments(readFileSync(kfile, 'utf8'))[0]?.toJS() as Obj | undefined;
  if (!isObj(k)) throw new ManifestError([`${kfile}: not a kustomization`]);
  const supported = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'commonLabels']);
  const unsupported = Object.keys(k).filter((key) => !supported.has(key));
  if (unsupported.length > 0) {
    throw new ManifestError([
      `${kfile}: ${unsupported.join(', ')} need kustomize; install kubectl or set DISPATCHER_RENDERER=kubectl`,
    ]);
  }
  // An outer kustomization's namespace wins, as in kustomize.
  const namespace = inherited ?? (typeof k.namespace === 'string' ? k.namespace : undefined);
  const out: string[] = [];
  for (const r of Array.isArray(k.resources) ? k.resources : []) {
    const target = resolve(dir, String(r));
    if (!existsSync(target)) throw new ManifestError([`${kfile}: resource ${String(r)} does not exist`]);
    const docs = statSync(target).isDirectory()
      ? renderFiles(target, namespace)
      : [readFileSync(target, 'utf8')];
    out.push(...docs.map((text) => (namespace ? withNamespace(text, namespace) : text)));
  }
  return out;
}

function withNamespace(text: string, namespace: string): string {
  return parseAllDocuments(text)
    .map((d) => {
      const o = d.toJS() as unknown;
      if (isObj(o)) o.metadata = { ...(isObj(o.metadata) ? o.metadata : {}), namespace };
      return JSON.stringify(o);
    })
    .join('\n---\n');
}

/**
 * Renders `path` (a kustomization folder, a plain folder of YAML, or one YAML file) and parses it.
 * `kubectl kustomize` is preferred whenever a kustomization is involved, so overlays with patches behave
 * exactly as they will in the cluster; `files` is the fallback for machines without kubectl.
 */
export async function loadManifests(path: string, renderer: Renderer = 'auto'): Promise<Manifests> {
  const target = resolve(path);
  if (!existsSync(target)) throw new ManifestError([`${path} does not exist`]);
  if (!statSync(target).isDirectory()) return parseManifests(readFileSync(target, 'utf8'));
  const isKustomization = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((f) =>
    existsSync(join(target, f)),
  );
  const useKubectl =
    isKustomization && (renderer === 'kubectl' || (renderer === 'auto' && onPath('kubectl')));
  if (useKubectl) {
    const { stdout } = await run('kubectl', ['kustomize', target], { maxBuffer: 16 * 1024 * 1024 });
    return parseManifests(stdout);
  }
  if (renderer === 'kubectl')
    throw new ManifestError([`${path}: no kustomization.yaml to render with kubectl`]);
  return parseManifests(renderFiles(target).join('\n---\n'));
}
