import type { KafkaRecord } from '../../shared/contract/event.ts';

/**
 * What the bridge hands to Kafka: one record per (websocket frame, symbol), already in CloudEvents Kafka
 * binary mode, plus bookkeeping that never leaves the process (receive time for latency, trade count for
 * metrics).
 */
export interface OutRecord extends KafkaRecord {
  /** Wall-clock receive time of the frame, fractional Unix ms (survives a trip through the spool). */
  readonly receivedAt: number;
  /** Trades in this record. */
  readonly trades: number;
}

/**
 * An upper bound of the record's size in a Kafka v2 record batch (uncompressed): key, value and header bytes
 * plus the largest varints of the record's framing (36 bytes) and of each header (10 bytes). Batches are
 * sized with it so that one never exceeds the topic's `max.message.bytes`.
 */
export function recordBytes(r: OutRecord): number {
  let n = Buffer.byteLength(r.key) + r.value.length + 36;
  for (const k in r.headers) n += Buffer.byteLength(k) + Buffer.byteLength(r.headers[k] ?? '') + 10;
  return n;
}

/** A v2 record batch's own header. */
export const RECORD_BATCH_OVERHEAD = 61;

/** Wall-clock now with sub-millisecond resolution (for receive→ack latency). */
export const nowMs = (): number => performance.timeOrigin + performance.now();
