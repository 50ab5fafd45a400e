/**
 * Kafka record -> CloudEvent -> HTTP binary mode, the way KafkaSource's data plane does it
 * (sdk-java KafkaMessageFactory, CloudEventDeserializer, InvalidCloudEventInterceptor), and the event ->
 * Kafka record of a binary-mode KafkaSink for dead letters.
 *
 * Events stay string attributes + raw bytes end to end: the dispatcher never needs to understand the
 * data, and going through an SDK object would risk re-encoding the Avro bytes or dropping unknown
 * extensions.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingRecord, OutgoingRecord } from '../../shared/kafka/types.ts';

/** The one event format KafkaSource recognises in structured mode. */
const STRUCTURED_JSON = 'application/cloudevents+json';

/** What the data plane reads from a consumed record: the adapter's record as it is. */
export type ConsumedRecord = IncomingRecord;

export interface DispatchEvent {
  /** Every context attribute and extension except `datacontenttype`, as strings. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly datacontenttype?: string;
  readonly data: Buffer | null;
  /** true when the record was not a valid CloudEvent and got wrapped. */
  readonly wrapped: boolean;
}

export interface SourceIdentity {
  readonly name: string;
  readonly namespace: string;
}

const REQUIRED = ['id', 'source', 'type'] as const;

function asString(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function complete(attrs: Record<string, string>): boolean {
  return attrs.specversion !== undefined && REQUIRED.every((k) => (attrs[k] ?? '') !== '');
}

/** Structured mode: the record value is a JSON CloudEvent. */
function fromStructured(value: Buffer | null): Omit<DispatchEvent, 'wrapped'> | undefined {
  if (!value) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'data' || k === 'data_base64' || k === 'datacontenttype') continue;
    const s = asString(v);
    if (s !== undefined) attributes[k.toLowerCase()] = s;
  }
  if (!complete(attributes)) return undefined;
  const declared = asString(o.datacontenttype);
  let data: Buffer | null = null;
  let datacontenttype = declared;
  if (typeof o.data_base64 === 'string') data = Buffer.from(o.data_base64, 'base64');
  else if (o.data !== undefined) {
    const jsonData = declared === undefined || /[/+]json$/i.test(declared.split(';')[0]!.trim());
    // JSON-format rule: data of a JSON content type is the JSON value itself; a string under another
    // content type is the payload text.
    data = Buffer.from(jsonData || typeof o.data !== 'string' ? JSON.stringify(o.data) : o.data, 'utf8');
    datacontenttype ??= 'application/json';
  }
  return { attributes, data, ...(datacontenttype !== undefined ? { datacontenttype } : {}) };
}

/** Binary mode: `ce_*` headers are attributes, `content-type` is datacontenttype, the value is the data. */
function fromBinary(
  headers: Readonly<Record<string, string>>,
  value: Buffer | null,
): Omit<DispatchEvent, 'wrapped'> | undefined {
  if (headers.ce_specversion === undefined) return undefined;
  const attributes: Record<string, string> = {};
  let datacontenttype = headers['content-type'];
  for (const [k, v] of Object.entries(headers)) {
    if (!k.startsWith('ce_')) continue; // other Kafka headers are not part of the event
    const name = k.slice(3);
    if (name === 'datacontenttype') datacontenttype ??= v;
    else if (name !== '') attributes[name] = v;
  }
  if (!complete(attributes)) return undefined;
  return { attributes, data: value, ...(datacontenttype !== undefined ? { datacontenttype } : {}) };
}

function headersAsStrings(headers: Readonly<Record<string, Buffer>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v.toString('utf8');
  return out;
}

/** `kafkaheader` + the header name lower-cased with everything outside [a-z0-9] removed. */
export const kafkaHeaderExtension = (name: string): string =>
  `kafkaheader${name.toLowerCase().replace(/[^a-z0-9]/g, '')}`;

/** Non-CloudEvent records become `dev.knative.kafka.event`s (InvalidCloudEventInterceptor). */
export function wrapRecord(rec: ConsumedRecord, src: SourceIdentity): DispatchEvent {
  const headers = headersAsStrings(rec.headers);
  const attributes: Record<string, string> = {
    specversion: '1.0',
    id: `partition:${rec.partition}/offset:${rec.offset}`,
    source: `/apis/v1/namespaces/${src.namespace}/kafkasources/${src.name}#${rec.topic}`,
    type: 'dev.knative.kafka.event',
    subject: `partition:${rec.partition}#${rec.offset}`,
  };
  if (Number.isFinite(rec.timestampMs) && rec.timestampMs >= 0) {
    attributes.time = new Date(rec.timestampMs).toISOString();
  }
  if (rec.key !== null) {
    // key-type `string` (the KafkaSource default): the key's UTF-8 text.
    attributes.key = rec.key.toString('utf8');
    attributes.partitionkey = attributes.key;
  }
  for (const [k, v] of Object.entries(headers)) attributes[kafkaHeaderExtension(k)] = v;
  const ct = headers['content-type'];
  return {
    attributes,
    data: rec.value,
    wrapped: true,
    ...(ct !== undefined ? { datacontenttype: ct.toLowerCase() } : {}),
  };
}

/**
 * The event a KafkaSource POSTs for `rec`: a valid CloudEvent (structured or binary) passes through with
 * its own attributes; anything else is wrapped. `knativekafkapartition`/`knativekafkaoffset` are always
 * added, then `ceOverrides` applied.
 */
export function recordToEvent(
  rec: ConsumedRecord,
  src: SourceIdentity,
  ceOverrides: Readonly<Record<string, string>> = {},
): DispatchEvent {
  const headers = headersAsStrings(rec.headers);
  const ct = headers['content-type']?.toLowerCase() ?? '';
  const parsed = ct.startsWith(STRUCTURED_JSON) ? fromStructured(rec.value) : fromBinary(headers, rec.value);
  const base: DispatchEvent = parsed ? { ...parsed, wrapped: false } : wrapRecord(rec, src);
  return {
    ...base,
    attributes: {
      ...base.attributes,
      knativekafkapartition: String(rec.partition),
      knativekafkaoffset: rec.offset,
      ...ceOverrides,
    },
  };
}

/**
 * HTTP binding header encoding: space, `"`, `%` and everything outside printable ASCII are
 * percent-encoded (UTF-8 bytes), so any attribute value survives as a header.
 */
export function encodeHeaderValue(value: string): string {
  let out = '';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (c > 0x20 && c < 0x7f && ch !== '"' && ch !== '%') out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The request headers of HTTP binary mode, plus what Knative's sender adds. */
export function httpBinaryHeaders(ev: DispatchEvent, namespace: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(ev.attributes)) headers[`ce-${k}`] = encodeHeaderValue(v);
  // The binding forbids ce-datacontenttype: Content-Type carries it.
  if (ev.datacontenttype !== undefined) headers['content-type'] = ev.datacontenttype;
  headers.prefer = 'reply';
  headers['kn-namespace'] = namespace;
  return headers;
}

export interface DeliveryFailure {
  /** Where the event was going (`knativeerrordest`). */
  readonly destination: string;
  readonly status?: number;
  readonly body?: Buffer;
  readonly responseHeaders?: Readonly<Record<string, string>>;
}

/** The event plus what RecordDispatcherImpl attaches before sending it to the dead-letter sink. */
export function withErrorExtensions(ev: DispatchEvent, f: DeliveryFailure): DispatchEvent {
  const attributes: Record<string, string> = { ...ev.attributes, knativeerrordest: f.destination };
  if (f.status !== undefined) {
    attributes.knativeerrorcode = String(f.status);
    if (f.body && f.body.length > 0)
      attributes.knativeerrordata = f.body.subarray(0, 1024).toString('base64');
  }
  for (const [k, v] of Object.entries(f.responseHeaders ?? {})) {
    const name = k.toLowerCase();
    if (name.startsWith('kne-') && /^[a-z0-9]+$/.test(name.slice(4))) attributes[name.slice(4)] = v;
  }
  return { ...ev, attributes };
}

/** A binary content-mode KafkaSink record: `ce_*` headers, `content-type`, the data bytes unchanged. */
export function toKafkaBinary(ev: DispatchEvent, key: Buffer | null): OutgoingRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(ev.attributes)) headers[`ce_${k}`] = v;
  if (ev.datacontenttype !== undefined) headers['content-type'] = ev.datacontenttype;
  return { key, value: ev.data, headers };
}

/** What a PingSource sends on each tick (knative eventing pkg/adapter/mtping). */
export function pingEvent(
  ps: { name: string; namespace: string; contentType?: string; data?: Buffer },
  at: Date,
  id: string = randomUUID(),
): DispatchEvent {
  return {
    attributes: {
      specversion: '1.0',
      id,
      source: `/apis/v1/namespaces/${ps.namespace}/pingsources/${ps.name}`,
      type: 'dev.knative.sources.ping',
      time: at.toISOString(),
    },
    data: ps.data ?? null,
    wrapped: false,
    ...(ps.contentType !== undefined ? { datacontenttype: ps.contentType } : {}),
  };
}
