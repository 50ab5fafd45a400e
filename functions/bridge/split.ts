import { buildTradeBatchEvent, decodeFrame, toKafkaRecord } from '../../shared/contract/index.ts';
import type { OutRecord } from './record.ts';

/**
 * Splits one record that the broker refused as too large into two records holding the first and the second
 * half of its trades; null when it holds a single trade. The halves get the ids `<id>.0` and `<id>.1`: a
 * resend of the same record splits the same way, so downstream deduplication by event id still holds.
 */
export function splitRecord(r: OutRecord): [OutRecord, OutRecord] | null {
  const trades = decodeFrame(r.value).data;
  if (trades.length < 2) return null;
  const mid = Math.ceil(trades.length / 2);
  const id = r.headers.ce_id ?? 'unknown';
  const received = Number(r.headers.ce_receivedms);
  const half = (k: number, part: typeof trades): OutRecord => {
    const kr = toKafkaRecord(
      buildTradeBatchEvent({
        symbol: r.key,
        trades: part,
        receivedAtMs: Number.isFinite(received) ? received : Math.floor(r.receivedAt),
        ...(r.headers.ce_source ? { source: r.headers.ce_source } : {}),
        id: `${id}.${k}`,
      }),
    );
    return { ...kr, receivedAt: r.receivedAt, trades: part.length };
  };
  return [half(0, trades.slice(0, mid)), half(1, trades.slice(mid))];
}
