import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { OutRecord } from './record.ts';
import { decodeChunk, decodePayload, encodeRecord, HEADER, MAGIC, scanSegment } from './spool-format.ts';

const rec = (i: number): OutRecord => ({
  key: `S${i % 3}`,
  value: Buffer.alloc(30 + i, i % 251),
  headers: { ce_id: `id-${i}` },
  timestampMs: 1_700_000_000_000 + i,
  receivedAt: 1_700_000_000_000.5 + i,
  trades: 1 + (i % 4),
});

describe('spool format', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const scanBytes = (bytes: Buffer) => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-format-'));
    dirs.push(dir);
    const path = join(dir, 'seg');
    writeFileSync(path, bytes);
    const fd = openSync(path, 'r');
    try {
      return scanSegment(fd, bytes.length, HEADER);
    } finally {
      closeSync(fd);
    }
  };

  it('round-trips every field of a record', () => {
    const r = rec(7);
    const buf = encodeRecord(r);
    expect(buf.readUInt32LE(0)).toBe(buf.length - HEADER);
    expect(decodePayload(buf.subarray(HEADER))).toEqual(r);
  });

  it('detects a torn tail at every cut point and keeps every intact record before it', () => {
    const recs = [0, 1, 2, 3].map((i) => encodeRecord(rec(i)));
    const whole = Buffer.concat([MAGIC, ...recs]);
    const lastStart = whole.length - recs[3]!.length;
    for (let cut = lastStart; cut < whole.length; cut++) {
      const scan = scanBytes(whole.subarray(0, cut));
      expect({ cut, records: scan.records, end: scan.end }).toEqual({ cut, records: 3, end: lastStart });
    }
    expect(scanBytes(whole)).toEqual({ magic: true, records: 4, end: whole.length });
  });

  it('stops at a record whose CRC does not match (a flipped bit), keeping the records before it', () => {
    const recs = [0, 1, 2].map((i) => encodeRecord(rec(i)));
    const whole = Buffer.concat([MAGIC, ...recs]);
    const secondPayload = HEADER + recs[0]!.length + HEADER + 5;
    for (const bit of [0, 3, 7]) {
      const bad = Buffer.from(whole);
      bad[secondPayload] = bad[secondPayload]! ^ (1 << bit);
      expect(scanBytes(bad)).toEqual({ magic: true, records: 1, end: HEADER + recs[0]!.length });
    }
  });

  it('refuses a file without the magic and an impossible length', () => {
    const r = encodeRecord(rec(0));
    expect(scanBytes(Buffer.concat([Buffer.from('NOTSPOOL'), r])).magic).toBe(false);
    const huge = Buffer.from(r);
    huge.writeUInt32LE(0xffffffff, 0);
    expect(scanBytes(Buffer.concat([MAGIC, huge])).records).toBe(0);
  });

  it('decodes whole records of a chunk within the limits, at least one when asked', () => {
    const recs = [0, 1, 2, 3].map(rec);
    const chunk = Buffer.concat(recs.map(encodeRecord));
    const none = () => Buffer.alloc(0);
    expect(decodeChunk(chunk, { records: 2, bytes: 1e9, atLeastOne: true }, none).records).toEqual(
      recs.slice(0, 2),
    );
    // A byte budget smaller than one record still yields one record when the batch is empty ...
    expect(decodeChunk(chunk, { records: 9, bytes: 1, atLeastOne: true }, none).records).toHaveLength(1);
    // ... and none when the batch already has some.
    expect(decodeChunk(chunk, { records: 9, bytes: 0, atLeastOne: false }, none).records).toHaveLength(0);
    // A record cut off by the end of the chunk is fetched whole when it is the first.
    const first = encodeRecord(recs[0]!);
    const partial = decodeChunk(
      first.subarray(0, HEADER + 3),
      { records: 9, bytes: 1e9, atLeastOne: true },
      (len, off) => first.subarray(off, off + len),
    );
    expect(partial).toEqual({ records: [recs[0]], bytes: first.length });
  });
});
