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

/**
 * Wall-clock now in Unix ms, for stamps that other processes compare with their own clocks: the receive time
 * (`ce_receivedms`, the `received_at` column, every receive → row and receive → counter latency). It follows
 * `Date.now()`, so a step of the system clock (NTP, a VM resumed from a snapshot) moves it as it moves every
 * other process's clock. `performance.timeOrigin + performance.now()` alone stays on the anchor taken at the
 * process's start: after one such step it ran 470 ms behind the functions' clocks until the bridge restarted.
 * The monotonic clock only adds the sub-millisecond part, while the two agree.
 */
export const nowMs = (): number => {
  const wall = Date.now();
  const fine = performance.timeOrigin + performance.now();
  return fine >= wall && fine < wall + 1 ? fine : wall;
};
