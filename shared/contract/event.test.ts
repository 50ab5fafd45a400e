import { describe, expect, it } from 'vitest';
import { Errors, isPipelineError } from '../errors.ts';
import { encodeFrame } from './avro.ts';
import {
  buildTradeBatchEvent,
  CONTENT_TYPE_AVRO,
  DATA_SCHEMA,
  EVENT_TYPE,
  fromHttp,
  fromKafkaRecord,
  toHttpBinary,
  toKafkaRecord,
} from './event.ts';
import type { Trade } from './types.ts';

const T0 = 1_721_555_886_208;
const trades: Trade[] = [
  { s: 'BINANCE:BTCUSDT', p: 66972.77, t: T0, v: 0.01559, c: null },
  { s: 'BINANCE:BTCUSDT', p: 66972.78, t: T0, v: 0.00012, c: ['1'] },
];
const ev = buildTradeBatchEvent({ symbol: 'BINANCE:BTCUSDT', trades, receivedAtMs: T0 + 40 });

const asKafkaBuffers = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]));

function expectError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(isPipelineError(err)).toBe(true);
    expect((err as { code: string }).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('trade batch event', () => {
  it('carries the contract attributes', () => {
    expect(ev.type).toBe(EVENT_TYPE);
    expect(ev.subject).toBe('BINANCE:BTCUSDT');
    expect(ev.time).toBe(new Date(T0).toISOString());
    expect(ev.dataschema).toBe(DATA_SCHEMA);
    expect(ev.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(
      buildTradeBatchEvent({ symbol: 'X', trades: [{ ...trades[0]!, s: 'X' }], receivedAtMs: 1 }).id,
    ).not.toBe(ev.id);
  });

  it('Kafka binary headers are complete, defined strings and round-trip from kafkajs Buffers', () => {
    const rec = toKafkaRecord(ev);
    expect(rec.key).toBe('BINANCE:BTCUSDT');
    // The one outgoing record type: its timestamp reaches the producer as is (the Kafka record time).
    expect(rec.timestampMs).toBe(ev.receivedms);
    expect(rec.headers['content-type']).toBe(CONTENT_TYPE_AVRO);
    expect(rec.headers.ce_datacontenttype).toBeUndefined();
    for (const [k, v] of Object.entries(rec.headers)) {
      expect(typeof v, k).toBe('string');
      expect(v, k).not.toBe('');
    }
    for (const h of [
      'ce_specversion',
      'ce_id',
      'ce_source',
      'ce_type',
      'ce_subject',
      'ce_time',
      'ce_dataschema',
      'ce_receivedms',
    ]) {
      expect(rec.headers[h], h).toBeDefined();
    }
    const back = fromKafkaRecord({
      key: Buffer.from(rec.key),
      value: rec.value,
      headers: asKafkaBuffers(rec.headers),
    });
    expect(back).toEqual(ev);
  });

  it('HTTP binary mode round-trips and keeps added extensions', () => {
    const { headers, body } = toHttpBinary(ev);
    expect(headers['content-type']).toBe(CONTENT_TYPE_AVRO);
    expect(headers['ce-datacontenttype']).toBeUndefined();
    const back = fromHttp(
      { ...headers, 'ce-knativekafkaoffset': '42', 'ce-knativekafkapartition': '3' },
      body,
    );
    expect(back.trades).toEqual(trades);
    expect(back.id).toBe(ev.id);
    expect(back.receivedms).toBe(T0 + 40);
    expect(back.extensions).toEqual({ knativekafkaoffset: '42', knativekafkapartition: '3' });
  });

  it('accepts structured mode with data_base64 and with JSON data', () => {
    const base = { specversion: '1.0', id: 'a1', source: 's', type: EVENT_TYPE, subject: 'BINANCE:BTCUSDT' };
    const structuredAvro = Buffer.from(
      JSON.stringify({
        ...base,
        datacontenttype: CONTENT_TYPE_AVRO,
        data_base64: ev.data.toString('base64'),
      }),
    );
    const a = fromHttp({ 'content-type': 'application/cloudevents+json; charset=utf-8' }, structuredAvro);
    expect(a.trades).toEqual(trades);
    expect(a.data.equals(ev.data)).toBe(true);

    const structuredJson = Buffer.from(
      JSON.stringify({ ...base, datacontenttype: 'application/json', data: { type: 'trade', data: trades } }),
    );
    const b = fromHttp({ 'content-type': 'application/cloudevents+json' }, structuredJson);
    expect(b.trades).toEqual(trades);
    expect(b.data.equals(ev.data)).toBe(true);
  });

  it('accepts binary mode with JSON data (curl)', () => {
    const body = Buffer.from(JSON.stringify({ type: 'trade', data: [{ s: 'AAPL', p: 1, t: T0, v: 2 }] }));
    const e = fromHttp(
      {
        'ce-specversion': '1.0',
        'ce-id': 'x',
        'ce-source': 'curl',
        'ce-type': EVENT_TYPE,
        'ce-subject': 'AAPL',
        'content-type': 'application/json',
      },
      body,
    );
    expect(e.trades).toEqual([{ s: 'AAPL', p: 1, t: T0, v: 2, c: null }]);
    expect(Number.isNaN(e.receivedms)).toBe(true);
  });

  const binary = (over: Record<string, string>, body: Buffer = ev.data) =>
    fromHttp({ ...toHttpBinary(ev).headers, ...over }, body);

  it.each([
    ['undecodable Avro', {}, Buffer.from('garbage!'), Errors.DATA_UNDECODABLE.code],
    ['empty body', {}, Buffer.alloc(0), Errors.DATA_UNDECODABLE.code],
    [
      'text/plain data',
      { 'content-type': 'text/plain' },
      Buffer.from('hi'),
      Errors.CONTENT_TYPE_UNSUPPORTED.code,
    ],
    ['unknown type', { 'ce-type': 'com.example.other' }, ev.data, Errors.EVENT_TYPE_UNKNOWN.code],
    ['subject not the symbol', { 'ce-subject': 'AAPL' }, ev.data, Errors.TRADE_INVALID.code],
    ['bad JSON', { 'content-type': 'application/json' }, Buffer.from('{'), Errors.DATA_UNDECODABLE.code],
  ])('rejects %s with a non-retryable code', (_name, over, body, code) => {
    expectError(() => binary(over, body), code);
  });

  it('rejects missing attributes and NaN prices', () => {
    const { headers, body } = toHttpBinary(ev);
    const { 'ce-subject': _s, ...noSubject } = headers;
    expectError(() => fromHttp(noSubject, body), Errors.EVENT_MALFORMED.code);
    const { 'ce-source': _src, ...noSource } = headers;
    expectError(() => fromHttp(noSource, body), Errors.EVENT_MALFORMED.code);
    const nan = encodeFrame({ type: 'trade', data: [{ ...trades[0]!, p: Number.NaN }] });
    expectError(() => binary({}, nan), Errors.TRADE_INVALID.code);
    expectError(() => fromKafkaRecord({ value: null, headers: {} }), Errors.EVENT_MALFORMED.code);
    expectError(() => fromKafkaRecord({ value: ev.data, headers: {} }), Errors.EVENT_MALFORMED.code);
  });
});
