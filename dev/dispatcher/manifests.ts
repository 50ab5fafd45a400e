/**
 * Reads the KafkaSource / PingSource / KafkaSink objects of `knative/` into the settings the local
 * dispatcher runs on. The manifests are the single source of truth: nothing here invents a retry count or
 * an ordering that the YAML does not say, and Knative's own defaults apply exactly where Knative applies them.
 *
 * Each object is first validated against the JSON schema of its CRD (crd-schemas/, generated from the
 * pinned Knative releases: field types, required and unknown fields, as the API server checks them); the
 * code below then only checks what those schemas leave to Knative's webhooks (enums, durations, ref or uri).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
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

/** The kinds the dispatcher reads, each with the one API version whose CRD schema crd-schemas/ holds. */
const KINDS = {
  KafkaSource: { group: 'sources.knative.dev', version: 'v1' },
  PingSource: { group: 'sources.knative.dev', version: 'v1' },
  KafkaSink: { group: 'eventing.knative.dev', version: 'v1alpha1' },
} as const;
type Kind = keyof typeof KINDS;

export const CRD_SCHEMA_DIR = fileURLToPath(new URL('./crd-schemas/', import.meta.url));
/** Where a kind's schema lives, relative to crd-schemas/ (the layout of the tool cache's k8s-schemas/crd/). */
export const crdSchemaFile = (kind: Kind): string =>
  `${KINDS[kind].group}/${kind.toLowerCase()}_${KINDS[kind].version}.json`;

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const validators = new Map<Kind, ValidateFunction>();
function validatorOf(kind: Kind): ValidateFunction {
  let v = validators.get(kind);
  if (!v) {
    const schema = JSON.parse(readFileSync(join(CRD_SCHEMA_DIR, crdSchemaFile(kind)), 'utf8')) as object;
    v = ajv.compile(schema);
    validators.set(kind, v);
  }
  return v;
}

/** `/spec/topics/0` -> `spec.topics[0]`. */
function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** One line per schema violation, naming the field. */
export function describeSchemaError(e: ErrorObject): string {
  const at = fieldPath(e.instancePath);
  const field = (name: string) => (at ? `${at}.${name}` : name);
  switch (e.keyword) {
    case 'additionalProperties':
      return `${field(String(e.params.additionalProperty))}: unknown field`;
    case 'required':
      return `${field(String(e.params.missingProperty))}: is required`;
    case 'type':
      return `${at || '(object)'}: must be ${String(e.params.type).replace(',', ' or ')}`;
    case 'enum':
      return `${at}: must be one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')}`;
    default:
      return `${at || '(object)'}: ${e.message ?? e.keyword}`;
  }
}

/** Validates one object against its CRD schema; returns false (and records why) when it does not conform. */
function conforms(kind: Kind, doc: Obj, where: string, p: Problems): boolean {
  const v = validatorOf(kind);
  if (v(doc)) return true;
  // `type` of a union also reports each branch; one line per field and problem is enough.
  const lines = new Set((v.errors ?? []).map(describeSchemaError));
  for (const line of lines) p.add(where, line);
  return false;
}

// After schema validation the objects' field types are known; what follows reads them and checks only
// what the CRD schemas leave to Knative's webhooks.
type Ref = { apiVersion?: string; kind: string; name: string; namespace?: string };
type RawDestination = { ref?: Ref; uri?: string };
type RawDelivery = {
  retry?: number | null;
  backoffPolicy?: string | null;
  backoffDelay?: string | null;
  timeout?: string | null;
  deadLetterSink?: RawDestination | null;
};

function destination(
  raw: RawDestination | undefined | null,
  namespace: string,
  where: string,
  p: Problems,
): Destination | undefined {
  // The schemas leave `ref` and `uri` optional; Knative's webhook wants one of them.
  if (!raw || (!raw.ref && !raw.uri)) {
    p.add(where, 'must be a Destination with ref or uri');
    return undefined;
  }
  const out: { ref?: Destination['ref']; uri?: string } = {};
  if (raw.ref) {
    const { kind, name, apiVersion } = raw.ref;
    out.ref = {
      kind,
      name,
      namespace: raw.ref.namespace || namespace,
      ...(apiVersion ? { apiVersion } : {}),
    };
  }
  if (raw.uri) out.uri = raw.uri;
  return out;
}

function duration(text: string | null | undefined, fallback: number, where: string, p: Problems): number {
  if (text === undefined || text === null) return fallback;
  try {
    return parseIsoDuration(text);
  } catch (err) {
    p.add(where, (err as Error).message);
    return fallback;
  }
}

function delivery(
  raw: RawDelivery | undefined | null,
  where: string,
  namespace: string,
  p: Problems,
): Delivery {
  if (raw === undefined || raw === null) return KNATIVE_DEFAULT_DELIVERY;
  // The trap this mirrors: once `delivery` is set, nothing falls back to the 10-retry default.
  const retry = raw.retry ?? 0;
  if (retry < 0) p.add(`${where}.retry`, 'must be an integer >= 0');
  const backoffPolicy = raw.backoffPolicy ?? 'exponential';
  if (backoffPolicy !== 'linear' && backoffPolicy !== 'exponential') {
    p.add(`${where}.backoffPolicy`, 'must be linear or exponential');
  }
  const backoffDelayMs = duration(raw.backoffDelay, EXPLICIT_DELIVERY_BACKOFF_MS, `${where}.backoffDelay`, p);
  const timeoutMs = duration(raw.timeout, DEFAULT_TIMEOUT_MS, `${where}.timeout`, p);
  if (timeoutMs <= 0) p.add(`${where}.timeout`, 'must be longer than zero');
  const out: { -readonly [K in keyof Delivery]: Delivery[K] } = {
    retry,
    backoffPolicy: backoffPolicy as BackoffPolicy,
    backoffDelayMs,
    timeoutMs,
  };
  if (raw.deadLetterSink) {
    const dls = destination(raw.deadLetterSink, namespace, `${where}.deadLetterSink`, p);
    if (dls) out.deadLetterSink = dls;
  }
  return out;
}

interface RawKafkaSource {
  topics: string[];
  consumerGroup?: string;
  initialOffset?: string;
  ordering?: string;
  consumers?: number;
  ceOverrides?: { extensions?: Record<string, string> };
  delivery?: RawDelivery;
  sink?: RawDestination;
}

function kafkaSource(
  spec: RawKafkaSource,
  name: string,
  namespace: string,
  p: Problems,
): KafkaSourceManifest | undefined {
  const where = `KafkaSource ${namespace}/${name}`;
  if (spec.topics.length === 0 || spec.topics.some((t) => t === '')) {
    p.add(where, 'spec.topics must be a non-empty list of topic names');
  }
  const initialOffset = spec.initialOffset ?? 'latest';
  if (initialOffset !== 'earliest' && initialOffset !== 'latest') {
    p.add(where, 'spec.initialOffset must be earliest or latest');
  }
  const ordering = spec.ordering ?? 'ordered';
  if (ordering !== 'ordered' && ordering !== 'unordered')
    p.add(where, 'spec.ordering must be ordered or unordered');
  const consumers = spec.consumers ?? 1;
  if (consumers < 1) p.add(where, 'spec.consumers must be an integer >= 1');
  const ceOverrides: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.ceOverrides?.extensions ?? {})) {
    if (!/^[a-z0-9]{1,20}$/.test(k))
      p.add(where, `ceOverrides extension name ${JSON.stringify(k)} is not [a-z0-9]+`);
    else ceOverrides[k] = String(v);
  }
  const sink = destination(spec.sink, namespace, `${where} spec.sink`, p);
  const deliveryOut = delivery(spec.delivery, `${where} spec.delivery`, namespace, p);
  if (!sink) return undefined;
  return {
    kind: 'KafkaSource',
    name,
    namespace,
    topics: spec.topics,
    // What the Knative webhook does for an empty group: offsets then do not survive re-creating the source.
    consumerGroup: spec.consumerGroup || `knative-kafka-source-${randomUUID()}`,
    initialOffset: initialOffset as KafkaSourceManifest['initialOffset'],
    ordering: ordering as Ordering,
    consumers,
    delivery: deliveryOut,
    sink,
    ceOverrides,
  };
}

interface RawPingSource {
  schedule?: string;
  timezone?: string;
  contentType?: string;
  data?: string;
  dataBase64?: string;
  sink?: RawDestination;
}

function pingSource(
  spec: RawPingSource,
  name: string,
  namespace: string,
  p: Problems,
): PingSourceManifest | undefined {
  const where = `PingSource ${namespace}/${name}`;
  if (!spec.schedule) p.add(where, 'spec.schedule is required');
  const { data: text, dataBase64: b64, timezone, contentType } = spec;
  if (text !== undefined && b64 !== undefined) p.add(where, 'spec.data and spec.dataBase64 are exclusive');
  const data =
    text !== undefined
      ? Buffer.from(text, 'utf8')
      : b64 !== undefined
        ? Buffer.from(b64, 'base64')
        : undefined;
  const sink = destination(spec.sink, namespace, `${where} spec.sink`, p);
  if (!spec.schedule || !sink) return undefined;
  return {
    kind: 'PingSource',
    name,
    namespace,
    schedule: spec.schedule,
    sink,
    ...(timezone ? { timezone } : {}),
    ...(contentType ? { contentType } : {}),
    ...(data ? { data } : {}),
  };
}

function kafkaSink(
  spec: { topic: string; contentMode?: string; numPartitions?: number },
  name: string,
  namespace: string,
  p: Problems,
): KafkaSinkManifest | undefined {
  const where = `KafkaSink ${namespace}/${name}`;
  if (spec.contentMode !== undefined && spec.contentMode !== 'binary') {
    // The dispatcher writes dead letters in binary mode only; refusing beats silently differing from prod.
    p.add(where, 'only contentMode binary is emulated locally');
  }
  if (spec.numPartitions !== undefined && spec.numPartitions < 1)
    p.add(where, 'spec.numPartitions must be >= 1');
  return { kind: 'KafkaSink', name, namespace, topic: spec.topic, numPartitions: spec.numPartitions ?? 0 };
}

const isKind = (kind: unknown): kind is Kind => typeof kind === 'string' && kind in KINDS;

/** Parses multi-document YAML (as kustomize prints it); objects of other kinds are ignored. */
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
    if (!isKind(kind) || !apiVersion.startsWith(`${KINDS[kind].group}/`)) continue;
    const where = `${kind} ${namespace}/${name ?? `(document ${i + 1})`}`;
    if (apiVersion !== `${KINDS[kind].group}/${KINDS[kind].version}`) {
      p.add(
        where,
        `apiVersion ${apiVersion} is not read locally; use ${KINDS[kind].group}/${KINDS[kind].version}`,
      );
      continue;
    }
    if (!name) {
      p.add(where, 'metadata.name is required');
      continue;
    }
    if (!conforms(kind, doc, where, p)) continue;
    if (!isObj(doc.spec)) {
      p.add(where, 'spec is required');
      continue;
    }
    if (kind === 'KafkaSource') {
      const s = kafkaSource(doc.spec as unknown as RawKafkaSource, name, namespace, p);
      if (s) kafkaSources.push(s);
    } else if (kind === 'PingSource') {
      const s = pingSource(doc.spec as RawPingSource, name, namespace, p);
      if (s) pingSources.push(s);
    } else {
      const s = kafkaSink(doc.spec as { topic: string }, name, namespace, p);
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

const run = promisify(execFile);

/**
 * Renders `path` (a kustomization folder, or one YAML file) and parses it. Kustomizations are rendered by
 * kustomize (`kubectl kustomize`) alone, so overlays with patches behave exactly as they will in the cluster.
 */
export async function loadManifests(path: string): Promise<Manifests> {
  const target = resolve(path);
  if (!existsSync(target)) throw new ManifestError([`${path} does not exist`]);
  if (!statSync(target).isDirectory()) return parseManifests(readFileSync(target, 'utf8'));
  let stdout: string;
  try {
    ({ stdout } = await run('kubectl', ['kustomize', target], { maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why =
      e.code === 'ENOENT'
        ? 'kubectl is not on PATH (it renders the kustomization)'
        : (e.stderr ?? e.message).trim();
    throw new ManifestError([`${path}: kubectl kustomize failed: ${why}`]);
  }
  return parseManifests(stdout);
}
