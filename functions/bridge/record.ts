/**
 * What the bridge hands to Kafka: one record per (websocket frame, symbol), already in CloudEvents Kafka
 * binary mode, plus bookkeeping that never leaves the process (receive time for latency, trade count for
 * metrics).
 */
export interface OutRecord {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: string;
  /** Wall-clock receive time of the frame, fractional Unix ms (survives a trip through the spool). */
  readonly receivedAt: number;
  /** Trades in this record. */
  readonly trades: number;
}

/** Approximate in-memory/wire size, for queue and batch limits. */
export function recordBytes(r: OutRecord): number {
  let n = r.value.length + r.key.length + r.timestamp.length + 16;
  for (const k in r.headers) n += k.length + (r.headers[k]?.length ?? 0);
  return n;
}

/** Wall-clock now with sub-millisecond resolution (for receive→ack latency). */
export const nowMs = (): number => performance.timeOrigin + performance.now();
