import { readSync } from 'node:fs';
import { crc32 } from './crc32.ts';
import type { OutRecord } from './record.ts';

/**
 * The on-disk format of the bridge's spool (bookkeeping: spool.ts; documented in README.md "Disk spool"):
 *
 * - A segment file `seg-<12-digit sequence>.spool` starts with the 8-byte magic `MPSPOOL1`.
 * - Then records `[u32le payload length][u32le CRC-32 of payload][payload]`, where
 *   payload = `[u32le meta length][meta JSON {k,h,ts,r,n}][Avro value bytes]`.
 *
 * Nothing here knows about checkpoints, ordering between segments or fsync; it only writes and checks bytes.
 */

export const MAGIC = Buffer.from('MPSPOOL1', 'latin1');
/** Bytes of the magic, and of a record's length + CRC header (both 8). */
export const HEADER = 8;
/** A length beyond this is corruption, not a record (the topic's limit is far below). */
export const MAX_RECORD = 64 * 1024 * 1024;

export const segmentName = (seq: number): string => `seg-${String(seq).padStart(12, '0')}.spool`;

/** The sequence of a segment file name, or undefined for any other file. */
export function segmentSeq(file: string): number | undefined {
  const m = /^seg-(\d{12})\.spool$/.exec(file);
  return m ? Number(m[1]) : undefined;
}

export function encodeRecord(r: OutRecord): Buffer {
  const meta = Buffer.from(
    JSON.stringify({ k: r.key, h: r.headers, ts: r.timestampMs, r: r.receivedAt, n: r.trades }),
    'utf8',
  );
  const payloadLen = 4 + meta.length + r.value.length;
  const buf = Buffer.allocUnsafe(HEADER + payloadLen);
  buf.writeUInt32LE(payloadLen, 0);
  buf.writeUInt32LE(meta.length, HEADER);
  meta.copy(buf, HEADER + 4);
  r.value.copy(buf, HEADER + 4 + meta.length);
  buf.writeUInt32LE(crc32(buf.subarray(HEADER)), 4);
  return buf;
}

export function decodePayload(payload: Buffer): OutRecord {
  const metaLen = payload.readUInt32LE(0);
  const meta = JSON.parse(payload.subarray(4, 4 + metaLen).toString('utf8')) as {
    k: string;
    h: Record<string, string>;
    /** A number; spools written before the one record type hold it as a string. */
    ts: number | string;
    r: number;
    n: number;
  };
  return {
    key: meta.k,
    headers: meta.h,
    timestampMs: Number(meta.ts),
    receivedAt: meta.r,
    trades: meta.n,
    value: Buffer.from(payload.subarray(4 + metaLen)),
  };
}

export interface SegmentScan {
  /** The file starts with the magic. */
  readonly magic: boolean;
  /** Offset after the last intact record (from `start`); `size` when every byte is a good record. */
  readonly end: number;
  readonly records: number;
}

/**
 * Walks the records of an open segment from `start`, checking lengths and CRCs; stops at the first torn
 * (short) or corrupt record. The caller decides what the bytes after `end` mean (a torn tail or corruption).
 */
export function scanSegment(fd: number, size: number, start: number): SegmentScan {
  const head = Buffer.alloc(HEADER);
  const magic = size >= HEADER && readSync(fd, head, 0, HEADER, 0) === HEADER && head.equals(MAGIC);
  if (!magic) return { magic, end: start, records: 0 };
  let pos = start;
  let records = 0;
  for (;;) {
    if (pos + HEADER > size) break;
    readSync(fd, head, 0, HEADER, pos);
    const len = head.readUInt32LE(0);
    if (len < 4 || len > MAX_RECORD || pos + HEADER + len > size) break;
    const payload = Buffer.allocUnsafe(len);
    readSync(fd, payload, 0, len, pos + HEADER);
    if (crc32(payload) !== head.readUInt32LE(4)) break;
    pos += HEADER + len;
    records++;
  }
  return { magic, end: pos, records };
}

/**
 * Decodes the whole records of `chunk` (read from a segment) up to the limits; at least one when
 * `atLeastOne` and one starts in it. Returns the records and the bytes they took. `readRest` fetches a record
 * larger than the chunk (only used for the first record of a batch).
 */
export function decodeChunk(
  chunk: Buffer,
  limits: { records: number; bytes: number; atLeastOne: boolean },
  readRest: (len: number, offset: number) => Buffer,
): { records: OutRecord[]; bytes: number } {
  const out: OutRecord[] = [];
  let pos = 0;
  while (out.length < limits.records && (pos < limits.bytes || (out.length === 0 && limits.atLeastOne))) {
    if (pos + HEADER > chunk.length) break;
    const len = chunk.readUInt32LE(pos);
    let payload: Buffer;
    if (pos + HEADER + len <= chunk.length) payload = chunk.subarray(pos + HEADER, pos + HEADER + len);
    else if (out.length === 0 && limits.atLeastOne) payload = readRest(len, pos + HEADER);
    else break;
    out.push(decodePayload(payload));
    pos += HEADER + len;
  }
  return { records: out, bytes: pos };
}
