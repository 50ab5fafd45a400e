import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { readFixtureJson } from '../../test/fixtures.ts';
import { decodeFrame, encodeFrame, frameType, schemaFingerprint, schemaFingerprintOf } from './avro.ts';
import type { TradeFrame } from './types.ts';

interface Golden {
  cases: { input_index: number; json: TradeFrame; avro_hex: string }[];
}
const golden = readFixtureJson<Golden>('finnhub-trade-avro-golden.json');
const frames = readFixtureJson<TradeFrame[]>('finnhub-ws-messages.json');
const seedSchemas = ['rskriegs-trades.avsc', 'otmanedaoudi-trade.avsc'].map((name) =>
  readFixtureJson<avro.Schema>(name),
);

describe('seed Avro schema', () => {
  it('has the same parsing canonical form as both seeds', () => {
    for (const s of seedSchemas) expect(schemaFingerprintOf(s)).toBe(schemaFingerprint);
  });

  it.each(golden.cases)('encodes sample frame $input_index to the golden bytes and back', (c) => {
    const frame = frames[c.input_index]!;
    const bytes = encodeFrame({ type: frame.type, data: frame.data.map((t) => ({ ...t, c: t.c ?? null })) });
    expect(bytes.toString('hex')).toBe(c.avro_hex);
    const back = decodeFrame(Buffer.from(c.avro_hex, 'hex'));
    expect(back.type).toBe(frame.type);
    expect(back.data).toEqual(frame.data.map((t) => ({ ...t, c: t.c ?? null })));
  });

  it('writes bytes a seed consumer decodes with its own schema', () => {
    const seedType = avro.Type.forSchema(seedSchemas[0] as avro.Schema);
    const frame: TradeFrame = {
      type: 'trade',
      data: [
        { s: 'BINANCE:BTCUSDT', p: 1.5, t: 1_700_000_000_000, v: 0, c: null },
        { s: 'BINANCE:BTCUSDT', p: 2.5, t: 1_700_000_000_000, v: 3, c: ['1', null] },
      ],
    };
    expect(seedType.fromBuffer(encodeFrame(frame))).toEqual(frame);
  });

  it.each([
    ['truncated', (b: Buffer) => b.subarray(0, b.length - 3)],
    ['trailing bytes', (b: Buffer) => Buffer.concat([b, Buffer.from([0])])],
    ['empty', () => Buffer.alloc(0)],
    ['garbage', () => Buffer.from('not avro at all, just text')],
  ])('refuses %s input', (_name, mutate) => {
    const ok = Buffer.from(golden.cases[0]!.avro_hex, 'hex');
    expect(() => decodeFrame(mutate(ok))).toThrow();
  });

  it('is the record FinnhubProducer.message', () => {
    expect(frameType.name).toBe('FinnhubProducer.message');
  });
});
