import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { TradeFrame } from './types.ts';

/** The checked-in schema, parsing-canonical-form equal to both seeds' `trades.avsc`. */
export const schemaJson: unknown = JSON.parse(
  readFileSync(new URL('./trades.avsc', import.meta.url), 'utf8'),
);
export const frameType = avro.Type.forSchema(schemaJson as avro.Schema);

/** SHA-256 of the schema's parsing canonical form: changes exactly when the wire format would. */
export const schemaFingerprint = createHash('sha256').update(frameType.schema().toString()).digest('hex');
export const schemaFingerprintOf = (schema: unknown): string =>
  createHash('sha256')
    .update(
      avro.Type.forSchema(schema as avro.Schema)
        .schema()
        .toString(),
    )
    .digest('hex');

/** Raw Avro binary datum (no container header, no magic byte), exactly as the seeds write it. */
export function encodeFrame(frame: TradeFrame): Buffer {
  return frameType.toBuffer({
    type: frame.type,
    data: frame.data.map((d) => ({ c: d.c ?? null, p: d.p, s: d.s, t: d.t, v: d.v })),
  });
}

/**
 * Decodes one datum into the decoder's own records; throws on truncated, trailing or mistyped bytes. For a
 * caller that copies every trade anyway, as acceptance does (`acceptTrades`): one object per trade fewer.
 */
export function decodeFrameRecords(bytes: Buffer): TradeFrame {
  return frameType.fromBuffer(bytes) as TradeFrame;
}

/** Decodes one datum into plain objects; throws on truncated, trailing or mistyped bytes. */
export function decodeFrame(bytes: Buffer): TradeFrame {
  const raw = decodeFrameRecords(bytes);
  return { type: raw.type, data: raw.data.map((d) => ({ c: d.c, p: d.p, s: d.s, t: d.t, v: d.v })) };
}
