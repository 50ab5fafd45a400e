import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { crc32, crc32Table } from './crc32.ts';
import type { OutRecord } from './record.ts';
import { DiskSpool } from './spool.ts';

const rec = (i: number, size = 20): OutRecord => ({
  key: `S${i % 3}`,
  value: Buffer.alloc(size, i % 251),
  headers: { ce_id: `id-${i}`, 'content-type': 'application/avro' },
  timestampMs: 1_700_000_000_000 + i,
  receivedAt: 1_700_000_000_000.5 + i,
  trades: 1 + (i % 4),
});
const ids = (rs: OutRecord[]): string[] => rs.map((r) => r.headers.ce_id!);
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe('DiskSpool', () => {
  const dirs: string[] = [];
  const mk = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'spool-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('crc32 matches the table implementation', () => {
    const b = Buffer.from('123456789');
    expect(crc32(b)).toBe(0xcbf43926);
    expect(crc32Table(b)).toBe(0xcbf43926);
  });

  it('returns records in append order, across segments, and round-trips every field', () => {
    const dir = mk();
    const sp = new DiskSpool({ dir, segmentBytes: 1_000, fsync: 'always' });
    const all = range(0, 100).map((i) => rec(i));
    for (let i = 0; i < 100; i += 7) expect(sp.append(all.slice(i, i + 7))).toBe(true);
    expect(sp.depth).toBe(100);
    expect(readdirSync(dir).filter((f) => f.endsWith('.spool')).length).toBeGreaterThan(3);
    const got: OutRecord[] = [];
    while (!sp.fullyRead) {
      const { records, cursor } = sp.read(9, 300);
      expect(records.length).toBeGreaterThan(0);
      got.push(...records);
      sp.commit(cursor);
    }
    expect(got).toEqual(all);
    expect(sp.depth).toBe(0);
    expect(sp.isEmpty).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    sp.close();
  });

  it('survives a crash: acknowledged records are gone, the rest comes back in order', () => {
    const dir = mk();
    const sp = new DiskSpool({ dir, segmentBytes: 600, fsync: 'interval' });
    sp.append(range(0, 40).map((i) => rec(i)));
    const a = sp.read(15, 1e9);
    sp.commit(a.cursor);
    sp.read(10, 1e9); // read, never acknowledged (in flight when the process died)
    // No close(): simulate a crash by opening a second instance on the same directory.
    const again = new DiskSpool({ dir, segmentBytes: 600 });
    expect(again.recovery.records).toBe(25);
    expect(again.depth).toBe(25);
    const { records } = again.read(1_000, 1e9);
    expect(ids(records)).toEqual(range(15, 40).map((i) => `id-${i}`));
    again.close();
    sp.close();
  });

  it('truncates a torn record at the tail and drops the rest of a corrupt segment', () => {
    const dir = mk();
    const sp = new DiskSpool({ dir, fsync: 'always' });
    sp.append(range(0, 5).map((i) => rec(i)));
    sp.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.spool'))!);
    appendFileSync(seg, Buffer.from([50, 0, 0, 0, 1, 2])); // half a record header
    const a = new DiskSpool({ dir });
    expect(a.recovery.truncatedBytes).toBe(6);
    expect(a.depth).toBe(5);
    a.close();
    // Flip one payload byte of the third record: records 0-1 survive, the rest of the segment is counted.
    const bytes = readFileSync(seg);
    const recLen = bytes.readUInt32LE(8) + 8;
    bytes[8 + 2 * recLen + 20] = bytes[8 + 2 * recLen + 20]! ^ 0xff;
    writeFileSync(seg, bytes);
    const b = new DiskSpool({ dir });
    expect(b.depth).toBe(2);
    expect(b.recovery.truncatedBytes).toBeGreaterThan(0);
    expect(ids(b.read(10, 1e9).records)).toEqual(['id-0', 'id-1']);
    b.close();
  });

  it('prepends older records before everything pending, durably', () => {
    const dir = mk();
    const sp = new DiskSpool({ dir, segmentBytes: 500 });
    sp.append(range(10, 20).map((i) => rec(i)));
    const first = sp.read(3, 1e9);
    sp.commit(first.cursor);
    sp.prepend(range(0, 10).map((i) => rec(i)));
    expect(sp.depth).toBe(17);
    sp.close();
    const again = new DiskSpool({ dir, segmentBytes: 500 });
    expect(again.depth).toBe(17);
    const got: OutRecord[] = [];
    while (!again.fullyRead) {
      const r = again.read(4, 1e9);
      got.push(...r.records);
      again.commit(r.cursor);
    }
    expect(ids(got)).toEqual([...range(0, 10), ...range(13, 20)].map((i) => `id-${i}`));
    again.close();
  });

  it('refuses appends beyond its size limit, and rewinds unacknowledged reads', () => {
    const dir = mk();
    const sp = new DiskSpool({ dir, maxBytes: 2_000 });
    let accepted = 0;
    for (let i = 0; i < 100; i++) if (sp.append([rec(i, 50)])) accepted++;
    expect(accepted).toBeGreaterThan(5);
    expect(accepted).toBeLessThan(100);
    expect(sp.bytes).toBeLessThanOrEqual(2_000);
    const a = sp.read(3, 1e9);
    sp.rewind();
    expect(ids(sp.read(3, 1e9).records)).toEqual(ids(a.records));
    expect(() => sp.prepend([rec(999)])).toThrow(/in flight/);
    sp.close();
  });

  it('after a SIGKILL mid-append, reopens with an unbroken prefix of what was appended, in order', async () => {
    const dir = mk();
    const spoolTs = fileURLToPath(new URL('./spool.ts', import.meta.url));
    // The writer appends numbered batches as fast as it can and says how many it finished.
    const code = `
      import { DiskSpool } from ${JSON.stringify(spoolTs)};
      const sp = new DiskSpool({ dir: ${JSON.stringify(dir)}, segmentBytes: 64 * 1024, fsync: 'never' });
      let n = 0;
      for (;;) {
        const batch = [];
        for (let i = 0; i < 10; i++, n++) batch.push({ key: 'S' + (n % 3), value: Buffer.alloc(40 + (n % 200), n % 251),
          headers: { ce_id: 'id-' + n }, timestampMs: n, receivedAt: n, trades: 1 });
        sp.append(batch);
        if (n % 1000 === 0) await new Promise((r) => process.stdout.write(n + '\\n', r));
        else await new Promise((r) => setImmediate(r));
      }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let reported = 0;
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    await new Promise<void>((resolve, reject) => {
      child.on('exit', (c) => reject(new Error(`writer exited early (${c})`)));
      child.stdout.on('data', (d: Buffer) => {
        reported = Math.max(reported, ...String(d).trim().split('\n').map(Number));
        if (reported >= 20_000) resolve();
      });
    });
    child.removeAllListeners('exit');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const again = new DiskSpool({ dir, segmentBytes: 64 * 1024 });
    // Everything the writer reported is there (a process crash keeps what write() handed to the kernel) ...
    expect(again.depth).toBeGreaterThanOrEqual(reported);
    expect(again.recovery.corruptSegments).toBe(0);
    // ... and every record comes back once, in append order, with nothing torn.
    let next = 0;
    const wrong: string[] = [];
    while (!again.fullyRead) {
      const { records, cursor } = again.read(5_000, 1e9);
      for (const r of records) {
        if (r.headers.ce_id !== `id-${next}` || !r.value.equals(Buffer.alloc(40 + (next % 200), next % 251)))
          wrong.push(`record ${next} read back as ${r.headers.ce_id}`);
        next++;
      }
      again.commit(cursor);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(next).toBe(again.recovery.records);
    again.close();
  }, 60_000);
});
