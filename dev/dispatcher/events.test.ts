import { describe, expect, it } from 'vitest';
import { buildTradeBatchEvent, fromHttp, toKafkaRecord } from '../../shared/contract/event.ts';
import {
  type ConsumedRecord,
  encodeHeaderValue,
  httpBinaryHeaders,
  kafkaHeaderExtension,
  pingEvent,
  recordToEvent,
  toKafkaBinary,
  withErrorExtensions,
} from './events.ts';

const src = { name: 'trades', namespace: 'market' };

function record(over: Partial<ConsumedRecord> & { h?: Record<string, string> }): ConsumedRecord {
  const headers: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(over.h ?? {})) headers[k] = Buffer.from(v);
  return {
    topic: 'market',
    partition: 2,
    offset: '41',
    key: Buffer.from('BINANCE:BTCUSDT'),
    value: Buffer.from([1, 2, 3]),
    timestampMs: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    headers,
    ...over,
  };
}

describe('recordToEvent: pass-through', () => {
  it('keeps a binary-mode CloudEvent as it is and adds the partition and offset', () => {
    const ev = recordToEvent(
      record({
        h: {
          ce_specversion: '1.0',
          ce_id: 'abc',
          ce_source: 'urn:s',
          ce_type: 't.v1',
          ce_subject: 'BINANCE:BTCUSDT',
          ce_receivedms: '17',
          'content-type': 'application/avro',
          traceparent: 'not-a-ce-header',
        },
      }),
      src,
    );
    expect(ev.wrapped).toBe(false);
    expect(ev.datacontenttype).toBe('application/avro');
    expect([...ev.data!]).toEqual([1, 2, 3]);
    expect(ev.attributes).toEqual({
      specversion: '1.0',
      id: 'abc',
      source: 'urn:s',
      type: 't.v1',
      subject: 'BINANCE:BTCUSDT',
      receivedms: '17',
      knativekafkapartition: '2',
      knativekafkaoffset: '41',
    });
  });

  it('turns a structured-mode record into binary mode (data_base64 becomes raw bytes)', () => {
    const json = {
      specversion: '1.0',
      id: 'x',
      source: 'urn:s',
      type: 't',
      datacontenttype: 'application/avro',
      data_base64: Buffer.from([9, 8, 7]).toString('base64'),
      count: 3,
    };
    const ev = recordToEvent(
      record({
        value: Buffer.from(JSON.stringify(json)),
        h: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
      }),
      src,
    );
    expect(ev.wrapped).toBe(false);
    expect([...ev.data!]).toEqual([9, 8, 7]);
    expect(ev.datacontenttype).toBe('application/avro');
    expect(ev.attributes).toMatchObject({ id: 'x', count: '3', knativekafkaoffset: '41' });
    expect(ev.attributes).not.toHaveProperty('data_base64');
  });

  it('serialises structured JSON data and defaults its content type to application/json', () => {
    const json = { specversion: '1.0', id: 'x', source: 's', type: 't', data: { a: 1 } };
    const ev = recordToEvent(
      record({
        value: Buffer.from(JSON.stringify(json)),
        h: { 'content-type': 'application/cloudevents+json' },
      }),
      src,
    );
    expect(ev.datacontenttype).toBe('application/json');
    expect(JSON.parse(ev.data!.toString())).toEqual({ a: 1 });
  });

  it('round-trips what the bridge writes, so the functions can read it', () => {
    const batch = buildTradeBatchEvent({
      symbol: 'BINANCE:BTCUSDT',
      receivedAtMs: 1_700_000_000_123,
      trades: [{ s: 'BINANCE:BTCUSDT', p: 50_000.5, v: 0.01, t: 1_700_000_000_000, c: null }],
    });
    const k = toKafkaRecord(batch);
    const ev = recordToEvent(record({ key: Buffer.from(k.key), value: k.value, h: k.headers }), src);
    const h = httpBinaryHeaders(ev, 'market');
    const back = fromHttp(h, ev.data!);
    expect(back.id).toBe(batch.id);
    expect(back.trades).toEqual(batch.trades);
    expect(back.extensions).toMatchObject({ knativekafkapartition: '2', knativekafkaoffset: '41' });
  });

  it('passes a CloudEvent without data (tombstone value) through with no body', () => {
    const ev = recordToEvent(
      record({ value: null, h: { ce_specversion: '1.0', ce_id: 'a', ce_source: 's', ce_type: 't' } }),
      src,
    );
    expect(ev.wrapped).toBe(false);
    expect(ev.data).toBeNull();
    expect(httpBinaryHeaders(ev, 'market')).not.toHaveProperty('content-type');
  });

  it('wraps a record with neither key nor value nor headers', () => {
    const ev = recordToEvent(record({ key: null, value: null, timestampMs: Number.NaN }), src);
    expect(ev.wrapped).toBe(true);
    expect(ev.data).toBeNull();
    expect(ev.attributes).not.toHaveProperty('time');
    expect(ev.attributes).not.toHaveProperty('key');
  });

  it('applies ceOverrides last', () => {
    const ev = recordToEvent(
      record({ h: { ce_specversion: '1.0', ce_id: 'a', ce_source: 's', ce_type: 't' } }),
      src,
      {
        env: 'local',
      },
    );
    expect(ev.attributes.env).toBe('local');
  });
});

describe('recordToEvent: wrapping records that are not CloudEvents', () => {
  it.each([
    ['plain bytes without headers', {}],
    ['a ce_specversion without id', { ce_specversion: '1.0', ce_source: 's', ce_type: 't' }],
    [
      'a structured content type with an unparsable value',
      { 'content-type': 'application/cloudevents+json' },
    ],
  ])('wraps %s', (_title, h) => {
    const ev = recordToEvent(record({ h }), src);
    expect(ev.wrapped).toBe(true);
    expect(ev.attributes).toMatchObject({
      specversion: '1.0',
      id: 'partition:2/offset:41',
      source: '/apis/v1/namespaces/market/kafkasources/trades#market',
      type: 'dev.knative.kafka.event',
      subject: 'partition:2#41',
      time: '2026-01-02T03:04:05.678Z',
      key: 'BINANCE:BTCUSDT',
      partitionkey: 'BINANCE:BTCUSDT',
      knativekafkapartition: '2',
      knativekafkaoffset: '41',
    });
    expect([...ev.data!]).toEqual([1, 2, 3]);
  });

  it('turns every Kafka header into a kafkaheader extension and keeps the content type lower-cased', () => {
    const ev = recordToEvent(
      record({ key: null, h: { ce_id: 'half', 'Content-Type': 'Text/Plain', 'X-Trace_ID': 'z' } }),
      src,
    );
    expect(ev.attributes).toMatchObject({
      kafkaheaderceid: 'half',
      kafkaheadercontenttype: 'Text/Plain',
      kafkaheaderxtraceid: 'z',
    });
    expect(ev.attributes).not.toHaveProperty('key');
    expect(ev.datacontenttype).toBe('text/plain');
  });

  it.each([
    ['ce_id', 'kafkaheaderceid'],
    ['Content-Type', 'kafkaheadercontenttype'],
    ['a.b-c_d', 'kafkaheaderabcd'],
  ])('header %s becomes extension %s', (h, ext) => {
    expect(kafkaHeaderExtension(h)).toBe(ext);
  });
});

describe('HTTP binary mode', () => {
  it('maps attributes to ce- headers and datacontenttype to Content-Type only', () => {
    const h = httpBinaryHeaders(
      {
        attributes: { specversion: '1.0', id: 'a b', source: 's', type: 't' },
        datacontenttype: 'application/avro',
        data: null,
        wrapped: false,
      },
      'market',
    );
    expect(h).toEqual({
      'ce-specversion': '1.0',
      'ce-id': 'a%20b',
      'ce-source': 's',
      'ce-type': 't',
      'content-type': 'application/avro',
      prefer: 'reply',
      'kn-namespace': 'market',
    });
    expect(h).not.toHaveProperty('ce-datacontenttype');
  });

  it.each([
    ['plain', 'plain'],
    ['with space', 'with%20space'],
    ['100%', '100%25'],
    ['say "hi"', 'say%20%22hi%22'],
    ['€', '%E2%82%AC'],
    ['tab\there', 'tab%09here'],
  ])('encodes %j as %j', (raw, encoded) => {
    expect(encodeHeaderValue(raw)).toBe(encoded);
  });
});

describe('dead letters', () => {
  const ev = recordToEvent(
    record({
      h: {
        ce_specversion: '1.0',
        ce_id: 'a',
        ce_source: 's',
        ce_type: 't',
        'content-type': 'application/avro',
      },
    }),
    src,
  );

  it('adds knativeerrordest, code, base64 data (at most 1024 bytes) and kne-* response headers', () => {
    const failed = withErrorExtensions(ev, {
      destination: 'http://127.0.0.1:1/',
      status: 422,
      body: Buffer.alloc(2000, 0x41),
      responseHeaders: { 'kne-reason': 'bad', 'x-other': 'no' },
    });
    expect(failed.attributes.knativeerrordest).toBe('http://127.0.0.1:1/');
    expect(failed.attributes.knativeerrorcode).toBe('422');
    expect(Buffer.from(failed.attributes.knativeerrordata!, 'base64')).toHaveLength(1024);
    expect(failed.attributes.reason).toBe('bad');
    expect(failed.attributes).not.toHaveProperty('x-other');
  });

  it('without a response (timeout, network) carries only the destination', () => {
    const failed = withErrorExtensions(ev, { destination: 'd' });
    expect(failed.attributes).toHaveProperty('knativeerrordest', 'd');
    expect(failed.attributes).not.toHaveProperty('knativeerrorcode');
  });

  it('writes a binary-mode Kafka record with the original data and key', () => {
    const k = toKafkaBinary(withErrorExtensions(ev, { destination: 'd', status: 400 }), Buffer.from('key'));
    expect(k.key?.toString()).toBe('key');
    expect([...k.value!]).toEqual([1, 2, 3]);
    expect(k.headers).toMatchObject({
      ce_id: 'a',
      ce_knativeerrorcode: '400',
      ce_knativekafkaoffset: '41',
      'content-type': 'application/avro',
    });
  });
});

describe('pingEvent', () => {
  it('is a dev.knative.sources.ping from the PingSource path with the manifest data', () => {
    const ev = pingEvent(
      {
        name: 'tick',
        namespace: 'market',
        contentType: 'application/json',
        data: Buffer.from('{"reason":"tick"}'),
      },
      new Date(Date.UTC(2026, 0, 1, 0, 1)),
      'id-1',
    );
    expect(ev.attributes).toEqual({
      specversion: '1.0',
      id: 'id-1',
      source: '/apis/v1/namespaces/market/pingsources/tick',
      type: 'dev.knative.sources.ping',
      time: '2026-01-01T00:01:00.000Z',
    });
    expect(ev.datacontenttype).toBe('application/json');
    expect(ev.data?.toString()).toBe('{"reason":"tick"}');
  });
});
