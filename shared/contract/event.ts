import { CloudEvent, type CloudEventV1, HTTP, Kafka } from 'cloudevents';
import { monotonicFactory } from 'ulid';
import { pipelineError } from '../errors.ts';
import type { OutgoingRecord } from '../kafka/types.ts';
import { decodeFrameRecords, encodeFrame, schemaFingerprint } from './avro.ts';
import type { Trade, TradeBatchEvent } from './types.ts';
import { type AcceptancePolicy, acceptTrades } from './validate.ts';

/** Stable, versioned event type: bump the suffix only with an incompatible change of data or semantics. */
export const EVENT_TYPE = 'dev.market-pipeline.trade-batch.v1';
/** Identifies the Avro schema by its canonical-form fingerprint, so readers can tell schema changes apart. */
export const DATA_SCHEMA = `urn:market-pipeline:avro:FinnhubProducer.message:sha256-${schemaFingerprint.slice(0, 16)}`;
export const CONTENT_TYPE_AVRO = 'application/avro';
export const DEFAULT_SOURCE = 'urn:market-pipeline:bridge';
/** Extension carrying the bridge's receive time (Unix ms) for end-to-end latency. */
export const RECEIVED_EXTENSION = 'receivedms';
/** Set by `npm run dlq -- replay` on events it writes back from the dead-letter topic (Unix ms). */
export const REPLAYED_EXTENSION = 'replayedat';

const STANDARD = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'dataschema',
  'datacontenttype',
  'data',
  'data_base64',
  // The SDK maps the Kafka record key onto `partitionkey`; the key is the subject here, not an extension.
  'partitionkey',
  RECEIVED_EXTENSION,
]);

const nextId = monotonicFactory();

/** The functions' acceptance policy: the configured future skew, no symbol allow-list (see validate.ts). */
export const acceptancePolicy = (maxFutureSkewS?: number): AcceptancePolicy =>
  maxFutureSkewS === undefined ? {} : { maxFutureSkewMs: maxFutureSkewS * 1000 };

export interface BatchInput {
  readonly symbol: string;
  readonly trades: readonly Trade[];
  readonly receivedAtMs: number;
  readonly source?: string;
  readonly id?: string;
}

/** One event of one symbol's trades in arrival order (the bridge's frames of one coalescing window). */
export function buildTradeBatchEvent(input: BatchInput): TradeBatchEvent {
  const first = input.trades[0];
  if (!first) throw new Error('a trade batch needs at least one trade');
  return {
    id: input.id ?? nextId(input.receivedAtMs),
    source: input.source ?? DEFAULT_SOURCE,
    type: EVENT_TYPE,
    subject: input.symbol,
    time: new Date(first.t).toISOString(),
    dataschema: DATA_SCHEMA,
    datacontenttype: CONTENT_TYPE_AVRO,
    receivedms: input.receivedAtMs,
    trades: input.trades,
    indices: input.trades.map((_t, i) => i),
    rejects: {},
    fixes: {},
    data: encodeFrame({ type: 'trade', data: input.trades }),
    extensions: {},
  };
}

/** A trade-batch event as an outgoing Kafka record: the one record type, narrowed to what binary mode writes. */
export interface KafkaRecord extends OutgoingRecord {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestampMs: number;
}

/**
 * Kafka binary mode. The cloudevents SDK's `Kafka.binary` would also emit `ce_datacontenttype` and
 * undefined-valued headers (which kafkajs rejects), so the headers are written out here, exactly.
 */
export function toKafkaRecord(ev: TradeBatchEvent): KafkaRecord {
  const headers: Record<string, string> = {
    ce_specversion: '1.0',
    ce_id: ev.id,
    ce_source: ev.source,
    ce_type: ev.type,
    ce_subject: ev.subject,
    ce_time: ev.time,
    ce_dataschema: ev.dataschema,
    [`ce_${RECEIVED_EXTENSION}`]: String(ev.receivedms),
    'content-type': ev.datacontenttype,
  };
  for (const [k, v] of Object.entries(ev.extensions)) headers[`ce_${k}`] = v;
  return { key: ev.subject, value: ev.data, headers, timestampMs: ev.receivedms };
}

type HeaderValue = Buffer | string | (Buffer | string)[] | undefined | null;

export interface ReceivedKafkaRecord {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, HeaderValue>>;
  readonly timestamp?: string;
}

/** kafkajs hands header values over as Buffers; the SDK needs strings. Repeated headers keep the last. */
export function kafkaHeadersToStrings(
  headers: Readonly<Record<string, HeaderValue>> = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    if (last !== undefined && last !== null) out[k.toLowerCase()] = last.toString();
  }
  return out;
}

export function fromKafkaRecord(rec: ReceivedKafkaRecord, policy: AcceptancePolicy = {}): TradeBatchEvent {
  if (rec.value === null) throw pipelineError('EVENT_MALFORMED', 'the record has no value (tombstone)');
  const headers = kafkaHeadersToStrings(rec.headers);
  let ce: CloudEventV1<unknown>;
  try {
    const message = {
      headers,
      key: rec.key?.toString() ?? '',
      value: rec.value,
      timestamp: rec.timestamp,
      body: rec.value,
    };
    ce = Kafka.toEvent(message as Parameters<typeof Kafka.toEvent>[0]) as CloudEventV1<unknown>;
  } catch (err) {
    throw pipelineError('EVENT_MALFORMED', `not a CloudEvent (${(err as Error).message})`, err);
  }
  return fromCloudEvent(ce, policy);
}

/** HTTP binary or structured mode, Avro or JSON data. `body` is the raw request body. */
export function fromHttp(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: Buffer,
  policy: AcceptancePolicy = {},
): TradeBatchEvent {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined) h[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const contentType = (h['content-type'] ?? '').toLowerCase();
  const textual = contentType.includes('json') || contentType.startsWith('text/');
  if (h['ce-id'] !== undefined && contentType.startsWith('application/json')) {
    try {
      JSON.parse(body.toString('utf8'));
    } catch {
      throw pipelineError('DATA_UNDECODABLE', 'JSON data does not parse');
    }
  }
  let ce: CloudEventV1<unknown>;
  try {
    const parsed = HTTP.toEvent({ headers: h, body: textual ? body.toString('utf8') : body });
    ce = (Array.isArray(parsed) ? parsed[0] : parsed) as CloudEventV1<unknown>;
  } catch (err) {
    throw pipelineError('EVENT_MALFORMED', `not a CloudEvent (${(err as Error).message})`, err);
  }
  if (!ce) throw pipelineError('EVENT_MALFORMED', 'empty batch');
  return fromCloudEvent(ce, policy);
}

/** The HTTP binary-mode request for an event (what a KafkaSource would POST). */
export function toHttpBinary(ev: TradeBatchEvent): { headers: Record<string, string>; body: Buffer } {
  const msg = HTTP.binary(
    new CloudEvent(
      {
        specversion: '1.0',
        id: ev.id,
        source: ev.source,
        type: ev.type,
        subject: ev.subject,
        time: ev.time,
        dataschema: ev.dataschema,
        datacontenttype: ev.datacontenttype,
        [RECEIVED_EXTENSION]: String(ev.receivedms),
        ...ev.extensions,
        data: ev.data,
      },
      false,
    ),
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers[k.toLowerCase()] = String(v);
  return { headers, body: ev.data };
}

function dataBytes(ce: CloudEventV1<unknown>): Buffer | undefined {
  // Structured mode: the SDK decodes data_base64 into a Uint32Array (one byte per element; SDK bug #643).
  if (typeof ce.data_base64 === 'string') return Buffer.from(ce.data_base64, 'base64');
  const d = ce.data;
  if (Buffer.isBuffer(d)) return d;
  if (d instanceof Uint8Array) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  if (ArrayBuffer.isView(d)) return Buffer.from(Array.from(d as unknown as ArrayLike<number>));
  return undefined;
}

function fromCloudEvent(ce: CloudEventV1<unknown>, policy: AcceptancePolicy): TradeBatchEvent {
  if (ce.specversion !== '1.0')
    throw pipelineError('EVENT_MALFORMED', `specversion ${String(ce.specversion)} is not 1.0`);
  for (const attr of ['id', 'source', 'type'] as const) {
    if (typeof ce[attr] !== 'string' || ce[attr] === '')
      throw pipelineError('EVENT_MALFORMED', `attribute ${attr} is missing`);
  }
  if (ce.type !== EVENT_TYPE)
    throw pipelineError('EVENT_TYPE_UNKNOWN', `event type ${JSON.stringify(ce.type)} is not ${EVENT_TYPE}`);
  const subject = ce.subject;
  if (typeof subject !== 'string' || subject === '')
    throw pipelineError('EVENT_MALFORMED', 'attribute subject (the symbol) is missing');
  const contentType = String(ce.datacontenttype ?? '')
    .toLowerCase()
    .split(';')[0]!
    .trim();

  let raw: readonly unknown[];
  let bytes: Buffer | undefined;
  if (contentType === CONTENT_TYPE_AVRO || contentType === 'avro/binary') {
    bytes = dataBytes(ce);
    if (!bytes || bytes.length === 0)
      throw pipelineError('DATA_UNDECODABLE', 'the event carries no Avro bytes');
    try {
      raw = decodeFrameRecords(bytes).data;
    } catch (err) {
      throw pipelineError(
        'DATA_UNDECODABLE',
        `Avro data does not match the schema (${(err as Error).message})`,
        err,
      );
    }
  } else if (contentType === 'application/json') {
    let d = ce.data;
    const b = dataBytes(ce);
    if (b) {
      try {
        d = JSON.parse(b.toString('utf8'));
      } catch {
        throw pipelineError('DATA_UNDECODABLE', 'JSON data does not parse');
      }
    }
    const list = (d as { data?: unknown } | null)?.data;
    if (!Array.isArray(list))
      throw pipelineError('DATA_UNDECODABLE', 'JSON data needs a "data" array of trades');
    raw = list;
  } else {
    throw pipelineError(
      'CONTENT_TYPE_UNSUPPORTED',
      `datacontenttype ${JSON.stringify(ce.datacontenttype ?? null)}`,
    );
  }

  if (raw.length === 0) throw pipelineError('TRADE_INVALID', 'the event holds no trades');
  // The same rule as the bridge's, trade by trade: a bad trade is dropped and counted, its neighbours stay.
  // A trade of another symbol than the subject is refused as `symbol` (the subject is the partition key).
  const accepted = acceptTrades(raw, { ...policy, subject });
  const trades = accepted.trades;
  if (trades.length === 0) {
    const why = Object.entries(accepted.rejects)
      .map(([r, n]) => `${n} ${r}`)
      .join(', ');
    throw pipelineError('TRADE_INVALID', `no trade of the event is acceptable (${why})`);
  }
  const extensions: Record<string, string> = {};
  for (const [k, v] of Object.entries(ce)) {
    if (!STANDARD.has(k) && v !== undefined && v !== null) extensions[k] = String(v);
  }
  const received = Number((ce as Record<string, unknown>)[RECEIVED_EXTENSION]);
  return {
    id: ce.id,
    source: ce.source,
    type: ce.type,
    subject,
    time: typeof ce.time === 'string' ? ce.time : new Date(trades[0]!.t).toISOString(),
    dataschema: typeof ce.dataschema === 'string' ? ce.dataschema : DATA_SCHEMA,
    datacontenttype: CONTENT_TYPE_AVRO,
    receivedms: Number.isFinite(received) ? received : Number.NaN,
    trades,
    indices: accepted.indices,
    rejects: accepted.rejects,
    fixes: accepted.fixes,
    data: bytes ?? encodeFrame({ type: 'trade', data: trades }),
    extensions,
  };
}
