/**
 * `npm run bench -- spool`: the bridge's disk spool (segment files, functions/bridge/spool.ts) against SQLite
 * (better-sqlite3, WAL) as the store behind it, on the numbers docs/decisions.md cites:
 *
 * - append throughput (records/s, batches of 10 as the bridge pushes them) and drain throughput (read +
 *   acknowledge, batches of 500), per durability setting: file `interval` ~ SQLite synchronous=NORMAL (a
 *   process crash loses nothing), file `always` ~ SQLite synchronous=FULL (fsync per batch);
 * - recovery after SIGKILL mid-write: a child appends until it reported BENCH_SPOOL_BACKLOG records, is
 *   killed, and the store is reopened (time to open and count), then every record is read back to check it
 *   is an unbroken prefix of what was appended;
 * - torn writes: the newest file (the last segment, or SQLite's WAL) is cut at BENCH_SPOOL_CUTS random
 *   offsets; each time the store must reopen with an unbroken prefix and nothing else.
 *
 * SQLite runs only when better-sqlite3 can be loaded (it is not a dependency; see bench/spool-stores.ts).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envNumber } from './env.ts';
import { benchRecord, loadSqlite, openStore, type StoreKind } from './spool-stores.ts';

const RECORDS = envNumber('BENCH_SPOOL_RECORDS', 200_000, { min: 1 });
const BACKLOG = envNumber('BENCH_SPOOL_BACKLOG', 300_000, { min: 1 });
const CUTS = envNumber('BENCH_SPOOL_CUTS', 20, { min: 1 });

const fresh = () => mkdtempSync(join(tmpdir(), 'bench-spool-'));
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);

function throughput(kind: StoreKind): Record<string, number> {
  const dir = fresh();
  try {
    // fsync per batch is far slower: fewer records keep the run short, the rate is what counts.
    const n = kind.endsWith('always') || kind.endsWith('full') ? Math.max(1_000, RECORDS / 20) : RECORDS;
    const store = openStore(kind, dir);
    const t0 = performance.now();
    for (let i = 0; i < n; i += 10) store.append(Array.from({ length: 10 }, (_, j) => benchRecord(i + j)));
    const appendMs = performance.now() - t0;
    const bytes = readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
    const t1 = performance.now();
    let drained = 0;
    for (;;) {
      const got = store.drain(500).length;
      if (got === 0) break;
      drained += got;
    }
    const drainMs = performance.now() - t1;
    store.close();
    if (drained !== n) throw new Error(`${kind}: drained ${drained} of ${n}`);
    return { records: n, appendPerSec: rate(n, appendMs), drainPerSec: rate(n, drainMs), diskBytes: bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads everything back; returns how many records form an unbroken prefix, and whether anything else was there. */
function checkPrefix(kind: StoreKind, dir: string): { openMs: number; records: number; intact: boolean } {
  const t0 = performance.now();
  const store = openStore(kind, dir);
  const depth = store.depth;
  const openMs = performance.now() - t0;
  let next = 0;
  let intact = true;
  for (;;) {
    const rs = store.drain(5_000);
    if (rs.length === 0) break;
    for (const r of rs) {
      if (r.headers.ce_id !== `id-${next}` || !r.value.equals(benchRecord(next).value)) intact = false;
      next++;
    }
  }
  store.close();
  return { openMs: Math.round(openMs), records: depth, intact: intact && next === depth };
}

async function killMidWrite(kind: StoreKind, dir: string): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/spool-writer.ts', kind, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let reported = 0;
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`${kind} writer exited (${c})`)));
    child.stdout.on('data', (d: Buffer) => {
      for (const line of String(d).split('\n')) if (line) reported = Math.max(reported, Number(line));
      if (reported >= BACKLOG) resolve();
    });
  });
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  return reported;
}

async function recovery(kind: StoreKind): Promise<Record<string, unknown>> {
  const dir = fresh();
  try {
    const reported = await killMidWrite(kind, dir);
    const r = checkPrefix(kind, dir);
    return { reportedBeforeKill: reported, ...r, lostReported: Math.max(0, reported - r.records) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Cuts the newest file of a killed writer's store at random offsets; every reopen must give a clean prefix. */
async function tornWrites(kind: StoreKind): Promise<Record<string, unknown>> {
  const base = fresh();
  try {
    await killMidWrite(kind, base);
    const files = readdirSync(base).filter((f) => !f.endsWith('-shm'));
    const newest = kind.startsWith('sqlite')
      ? (files.find((f) => f.endsWith('-wal')) ?? 'spool.db')
      : files
          .filter((f) => f.endsWith('.spool'))
          .sort()
          .at(-1)!;
    const size = statSync(join(base, newest)).size;
    let clean = 0;
    const kept: number[] = [];
    for (let i = 0; i < CUTS; i++) {
      const dir = fresh();
      try {
        for (const f of files) copyFileSync(join(base, f), join(dir, f));
        truncateSync(join(dir, newest), Math.floor(Math.random() * size));
        const r = checkPrefix(kind, dir);
        if (r.intact) clean++;
        kept.push(r.records);
      } catch {
        // A store that cannot reopen at all counts as not clean.
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    return {
      file: newest,
      cuts: CUTS,
      cleanPrefix: clean,
      minKept: Math.min(...kept),
      maxKept: Math.max(...kept),
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

export async function run(): Promise<Record<string, unknown>> {
  mkdirSync(tmpdir(), { recursive: true });
  const kinds: StoreKind[] = ['file-interval', 'file-always'];
  if (loadSqlite()) kinds.push('sqlite-normal', 'sqlite-full');
  else console.log('[spool] better-sqlite3 not installed: SQLite not measured (see bench/spool-stores.ts)');
  const result: Record<string, unknown> = {};
  for (const kind of kinds) {
    const t = throughput(kind);
    console.log(
      `[spool] ${kind}: append ${t.appendPerSec} rec/s, drain ${t.drainPerSec} rec/s (${t.records} records, ${t.diskBytes} bytes on disk)`,
    );
    result[kind] = { throughput: t };
  }
  for (const kind of kinds.filter((k) => k.endsWith('interval') || k.endsWith('normal'))) {
    const rec = await recovery(kind);
    console.log(
      `[spool] ${kind}: SIGKILL after ${rec.reportedBeforeKill} appended: reopened in ${rec.openMs} ms with ${rec.records} records, unbroken prefix: ${rec.intact}`,
    );
    const torn = await tornWrites(kind);
    console.log(
      `[spool] ${kind}: ${torn.cuts} random cuts of ${torn.file}: ${torn.cleanPrefix} reopened as a clean prefix (kept ${torn.minKept}..${torn.maxKept} records)`,
    );
    result[kind] = { ...(result[kind] as object), recovery: rec, torn };
  }
  return result;
}
