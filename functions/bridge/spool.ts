import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { OutRecord } from './record.ts';
import {
  decodeChunk,
  encodeRecord,
  HEADER,
  MAGIC,
  scanSegment,
  segmentSeq,
  segmentName as segName,
} from './spool-format.ts';

/**
 * The bookkeeping of the bridge's append-only disk spool: which segments exist, what was read, what Kafka
 * acknowledged, when to fsync. The bytes of a segment are spool-format.ts's; both are documented in
 * functions/bridge/README.md ("Disk spool"). In short:
 *
 * - Segments are read in ascending sequence order. `checkpoint.json` holds, per partly delivered segment,
 *   the byte offset up to which records were acknowledged by Kafka; every other existing segment is wholly
 *   pending. A wholly delivered segment is deleted before the checkpoint forgets it, so a crash in between
 *   can never resurrect delivered records.
 * - `prepend()` writes records that are older than everything spooled (the in-memory queue on shutdown or
 *   when Kafka becomes unavailable) as a new segment with a lower sequence, fsynced before it is renamed
 *   into place.
 * - On open, every pending segment is scanned; a torn record at the end of the newest segment (a crash
 *   mid-append) is truncated away; a bad CRC elsewhere drops the rest of that segment. Both are counted.
 * - fsync policy: `always` (after every append call: no loss even on power failure), `interval` (default,
 *   at most `fsyncIntervalMs` after an append: a process crash loses nothing because writes are already in
 *   the page cache; a power failure may lose the last interval), `never` (leave it to the OS).
 */

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface SpoolOptions {
  dir: string;
  /** Roll to a new segment beyond this size (default 64 MiB). */
  segmentBytes?: number;
  /** Refuse appends beyond this many pending bytes (default 1 GiB). */
  maxBytes?: number;
  fsync?: FsyncPolicy;
  fsyncIntervalMs?: number;
}

export interface SpoolRecovery {
  segments: number;
  records: number;
  bytes: number;
  truncatedBytes: number;
  corruptSegments: number;
}

/** Where a batch read from the spool ends: per segment, the offset after its last record in the batch. */
export interface SpoolCursor {
  readonly ends: ReadonlyArray<readonly [seq: number, offset: number, records: number]>;
  readonly records: number;
  readonly bytes: number;
}

interface Segment {
  seq: number;
  /** Bytes in the file (valid records only). */
  size: number;
  /** Acknowledged up to here. */
  committed: number;
  /** Read (handed out, maybe not yet acknowledged) up to here. */
  read: number;
  /** Records pending (not acknowledged) in this segment. */
  pending: number;
  /** Records read but not acknowledged. */
  inFlight: number;
  fd?: number;
}

const FIRST_SEQ = 1_000_000_000;

export class DiskSpool {
  private readonly dir: string;
  private readonly segmentBytes: number;
  private readonly maxBytes: number;
  private readonly policy: FsyncPolicy;
  private segments: Segment[] = [];
  private writeFd: number | undefined;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private pendingRecords = 0;
  private pendingBytes = 0;
  readonly recovery: SpoolRecovery;

  constructor(opts: SpoolOptions) {
    this.dir = opts.dir;
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024 * 1024;
    this.policy = opts.fsync ?? 'interval';
    mkdirSync(this.dir, { recursive: true });
    this.recovery = this.recover();
    if (this.policy === 'interval') {
      this.timer = setInterval(() => this.sync(), opts.fsyncIntervalMs ?? 100);
      this.timer.unref();
    }
  }

  /** Records not yet acknowledged (including those read and in flight). */
  get depth(): number {
    return this.pendingRecords;
  }
  get bytes(): number {
    return this.pendingBytes;
  }
  get isEmpty(): boolean {
    return this.pendingRecords === 0;
  }
  /** True when every pending record has been handed out by `read()` (nothing left to read). */
  get fullyRead(): boolean {
    return this.segments.every((s) => s.read >= s.size);
  }

  private readCheckpoint(): Record<string, number> {
    try {
      const raw = JSON.parse(readFileSync(join(this.dir, 'checkpoint.json'), 'utf8')) as {
        offsets?: Record<string, number>;
      };
      return raw.offsets && typeof raw.offsets === 'object' ? raw.offsets : {};
    } catch {
      return {};
    }
  }

  private writeCheckpoint(): void {
    const offsets: Record<string, number> = {};
    for (const s of this.segments) if (s.committed > HEADER) offsets[String(s.seq)] = s.committed;
    const tmp = join(this.dir, 'checkpoint.json.tmp');
    writeFileSync(tmp, JSON.stringify({ offsets }));
    renameSync(tmp, join(this.dir, 'checkpoint.json'));
  }

  private recover(): SpoolRecovery {
    const rec: SpoolRecovery = { segments: 0, records: 0, bytes: 0, truncatedBytes: 0, corruptSegments: 0 };
    for (const f of readdirSync(this.dir)) if (f.endsWith('.tmp')) rmSync(join(this.dir, f), { force: true });
    const seqs = readdirSync(this.dir)
      .map(segmentSeq)
      .filter((n): n is number => n !== undefined)
      .sort((a, b) => a - b);
    const checkpoint = this.readCheckpoint();
    for (const [i, seq] of seqs.entries()) {
      const last = i === seqs.length - 1;
      const path = join(this.dir, segName(seq));
      const fd = openSync(path, 'r+');
      const size = fstatSync(fd).size;
      let start = checkpoint[String(seq)] ?? HEADER;
      if (start < HEADER || start > size) start = size;
      const scan = scanSegment(fd, size, start);
      const okMagic = scan.magic;
      const pos = okMagic ? scan.end : size;
      const records = scan.records;
      if (pos < size) {
        if (last && okMagic) {
          rec.truncatedBytes += size - pos;
          ftruncateSync(fd, pos);
          fsyncSync(fd);
        } else {
          rec.corruptSegments++;
        }
      }
      closeSync(fd);
      if (records === 0 && !(last && okMagic)) {
        rmSync(path, { force: true });
        continue;
      }
      this.segments.push({
        seq,
        size: pos,
        committed: start,
        read: start,
        pending: records,
        inFlight: 0,
      });
      rec.segments++;
      rec.records += records;
      rec.bytes += pos - start;
    }
    this.pendingRecords = rec.records;
    this.pendingBytes = rec.bytes;
    if (this.pendingRecords === 0) this.reset();
    return rec;
  }

  private openWriter(): number {
    if (this.writeFd !== undefined) return this.writeFd;
    const tail = this.segments[this.segments.length - 1];
    if (tail && tail.size < this.segmentBytes) {
      this.writeFd = openSync(join(this.dir, segName(tail.seq)), 'a');
      return this.writeFd;
    }
    return this.roll();
  }

  private roll(): number {
    if (this.writeFd !== undefined) {
      if (this.policy !== 'never') fsyncSync(this.writeFd);
      closeSync(this.writeFd);
      this.writeFd = undefined;
    }
    const tail = this.segments[this.segments.length - 1];
    const seq = tail ? tail.seq + 1 : FIRST_SEQ;
    const fd = openSync(join(this.dir, segName(seq)), 'a');
    writeSync(fd, MAGIC);
    this.segments.push({ seq, size: HEADER, committed: HEADER, read: HEADER, pending: 0, inFlight: 0 });
    this.writeFd = fd;
    return fd;
  }

  /**
   * Appends records after everything pending. Returns false (and writes nothing) when the spool is full.
   * Throws only on I/O errors (disk full, permissions), which the caller counts as spool failures.
   */
  append(records: readonly OutRecord[]): boolean {
    if (records.length === 0) return true;
    const bufs = records.map(encodeRecord);
    const total = bufs.reduce((n, b) => n + b.length, 0);
    if (this.pendingBytes + total > this.maxBytes) return false;
    let fd = this.openWriter();
    let tail = this.segments[this.segments.length - 1]!;
    if (tail.size > HEADER && tail.size + total > this.segmentBytes) {
      fd = this.roll();
      tail = this.segments[this.segments.length - 1]!;
    }
    const all = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs, total);
    let off = 0;
    while (off < all.length) off += writeSync(fd, all, off, all.length - off);
    tail.size += total;
    tail.pending += records.length;
    this.pendingRecords += records.length;
    this.pendingBytes += total;
    if (this.policy === 'always') fsyncSync(fd);
    else this.dirty = true;
    return true;
  }

  /**
   * Puts records before everything pending (they are older). Only valid while nothing is in flight from the
   * spool: the new segment is written to a temporary file, fsynced and renamed, so it appears whole or not.
   */
  prepend(records: readonly OutRecord[]): boolean {
    if (records.length === 0) return true;
    if (this.segments.some((s) => s.inFlight > 0 || s.read !== s.committed)) {
      throw new Error('spool prepend while records are in flight');
    }
    const bufs = records.map(encodeRecord);
    const total = bufs.reduce((n, b) => n + b.length, 0);
    if (this.pendingBytes + total > this.maxBytes) return false;
    const head = this.segments[0];
    const seq = head ? head.seq - 1 : FIRST_SEQ;
    const tmp = join(this.dir, `${segName(seq)}.tmp`);
    const fd = openSync(tmp, 'w');
    const all = Buffer.concat([MAGIC, ...bufs]);
    let off = 0;
    while (off < all.length) off += writeSync(fd, all, off, all.length - off);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, join(this.dir, segName(seq)));
    this.fsyncDir();
    this.segments.unshift({
      seq,
      size: HEADER + total,
      committed: HEADER,
      read: HEADER,
      pending: records.length,
      inFlight: 0,
    });
    this.pendingRecords += records.length;
    this.pendingBytes += total;
    return true;
  }

  /** Reads the next records (not yet handed out), up to the limits; at least one if any is left. */
  read(maxRecords: number, maxBytes: number): { records: OutRecord[]; cursor: SpoolCursor } {
    const out: OutRecord[] = [];
    const ends: [number, number, number][] = [];
    let bytes = 0;
    for (const s of this.segments) {
      if (out.length >= maxRecords || (bytes >= maxBytes && out.length > 0)) break;
      if (s.read >= s.size) continue;
      if (s.fd === undefined) s.fd = openSync(join(this.dir, segName(s.seq)), 'r');
      const fd = s.fd;
      const chunk = Buffer.allocUnsafe(
        Math.min(s.size - s.read, Math.max(maxBytes - bytes, 64 * 1024) + HEADER),
      );
      const got = readSync(fd, chunk, 0, chunk.length, s.read);
      const at = s.read;
      const batch = decodeChunk(
        chunk.subarray(0, got),
        { records: maxRecords - out.length, bytes: maxBytes - bytes, atLeastOne: out.length === 0 },
        (len, offset) => {
          const payload = Buffer.allocUnsafe(len);
          readSync(fd, payload, 0, len, at + offset);
          return payload;
        },
      );
      const count = batch.records.length;
      for (const r of batch.records) out.push(r);
      const pos = batch.bytes;
      bytes += pos;
      if (count === 0) break;
      s.read += pos;
      s.inFlight += count;
      ends.push([s.seq, s.read, count]);
      if (s.read < s.size) break;
    }
    return { records: out, cursor: { ends, records: out.length, bytes } };
  }

  /** Marks a batch from `read()` as acknowledged; deletes wholly delivered segments. */
  commit(cursor: SpoolCursor): void {
    for (const [seq, offset, n] of cursor.ends) {
      const s = this.segments.find((x) => x.seq === seq);
      if (!s) continue;
      s.inFlight -= n;
      s.pending -= n;
      s.committed = Math.max(s.committed, offset);
    }
    this.pendingRecords -= cursor.records;
    this.pendingBytes -= cursor.bytes;
    const tail = this.segments[this.segments.length - 1];
    const done = this.segments.filter((s) => s.committed >= s.size && s !== tail);
    for (const s of done) this.dropSegment(s);
    if (this.pendingRecords === 0) this.reset();
    else this.writeCheckpoint();
  }

  /** Forgets what was read but not acknowledged, so the next `read()` returns it again. */
  rewind(): void {
    for (const s of this.segments) {
      s.read = s.committed;
      s.inFlight = 0;
    }
  }

  private dropSegment(s: Segment): void {
    if (s.fd !== undefined) closeSync(s.fd);
    rmSync(join(this.dir, segName(s.seq)), { force: true });
    this.segments = this.segments.filter((x) => x !== s);
  }

  /** Everything delivered: remove all files so the spool starts afresh. */
  private reset(): void {
    if (this.writeFd !== undefined) {
      closeSync(this.writeFd);
      this.writeFd = undefined;
    }
    for (const s of this.segments) {
      if (s.fd !== undefined) closeSync(s.fd);
      rmSync(join(this.dir, segName(s.seq)), { force: true });
    }
    this.segments = [];
    this.pendingRecords = 0;
    this.pendingBytes = 0;
    rmSync(join(this.dir, 'checkpoint.json'), { force: true });
    this.dirty = false;
  }

  private fsyncDir(): void {
    try {
      const fd = openSync(this.dir, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // Directory fsync is not supported everywhere; the rename is still atomic.
    }
  }

  sync(): void {
    if (!this.dirty || this.writeFd === undefined) return;
    this.dirty = false;
    fsyncSync(this.writeFd);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.writeFd !== undefined) {
      if (this.policy !== 'never') fsyncSync(this.writeFd);
      closeSync(this.writeFd);
      this.writeFd = undefined;
    }
    for (const s of this.segments) {
      if (s.fd !== undefined) closeSync(s.fd);
      s.fd = undefined;
    }
    if (this.pendingRecords > 0) this.writeCheckpoint();
  }
}
