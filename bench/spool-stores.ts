/**
 * The two spool stores the `spool` bench part compares, behind one small interface: the bridge's segment-file
 * DiskSpool and an SQLite table through better-sqlite3 (not a dependency of the project: the bench loads it
 * only when installed, e.g. `npm install --no-save better-sqlite3@12.9.0`, or from NODE_PATH).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { OutRecord } from '../functions/bridge/record.ts';
import { DiskSpool, type FsyncPolicy } from '../functions/bridge/spool.ts';
import { decodePayload, encodeRecord, HEADER } from '../functions/bridge/spool-format.ts';

export interface BenchStore {
  append(records: readonly OutRecord[]): void;
  /** Reads up to `n` records and acknowledges them; returns how many. */
  drain(n: number): OutRecord[];
  readonly depth: number;
  close(): void;
}

export type StoreKind = 'file-interval' | 'file-always' | 'sqlite-normal' | 'sqlite-full';

interface Statement {
  run(...args: unknown[]): unknown;
  get(...args: unknown[]): Record<string, unknown> | undefined;
  all(...args: unknown[]): Record<string, unknown>[];
}
interface Database {
  pragma(s: string, opts?: { simple: boolean }): unknown;
  exec(s: string): void;
  prepare(s: string): Statement;
  transaction<A extends unknown[]>(fn: (...a: A) => void): (...a: A) => void;
  close(): void;
}
type DatabaseCtor = new (file: string) => Database;

export function loadSqlite(): DatabaseCtor | undefined {
  try {
    return createRequire(import.meta.url)('better-sqlite3') as DatabaseCtor;
  } catch {
    return undefined;
  }
}

export function openStore(kind: StoreKind, dir: string): BenchStore {
  if (kind.startsWith('file-')) {
    const fsync: FsyncPolicy = kind === 'file-always' ? 'always' : 'interval';
    const sp = new DiskSpool({ dir, fsync, maxBytes: 8 * 1024 * 1024 * 1024 });
    return {
      append: (r) => {
        sp.append(r);
      },
      drain: (n) => {
        // The bridge reads at most BRIDGE_BATCH_MAX_BYTES (default 1 MiB) per batch.
        const { records, cursor } = sp.read(n, 1024 * 1024);
        sp.commit(cursor);
        return records;
      },
      get depth() {
        return sp.depth;
      },
      close: () => sp.close(),
    };
  }
  const Sqlite = loadSqlite();
  if (!Sqlite) throw new Error('better-sqlite3 is not installed');
  const db = new Sqlite(join(dir, 'spool.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${kind === 'sqlite-full' ? 'FULL' : 'NORMAL'}`);
  db.exec('CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY, rec BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO spool (rec) VALUES (?)');
  const select = db.prepare('SELECT seq, rec FROM spool ORDER BY seq LIMIT ?');
  const del = db.prepare('DELETE FROM spool WHERE seq <= ?');
  const count = db.prepare('SELECT count(*) AS n FROM spool');
  // The same record bytes as the file spool (without its length/CRC header: SQLite checks its own pages).
  const appendTx = db.transaction((records: readonly OutRecord[]) => {
    for (const r of records) insert.run(encodeRecord(r).subarray(HEADER));
  });
  let depth = Number(count.get()?.n ?? 0);
  return {
    append: (r) => {
      appendTx(r);
      depth += r.length;
    },
    drain: (n) => {
      const rows = select.all(n);
      if (rows.length === 0) return [];
      del.run(rows[rows.length - 1]!.seq);
      depth -= rows.length;
      return rows.map((row) => decodePayload(row.rec as Buffer));
    },
    get depth() {
      return depth;
    },
    close: () => db.close(),
  };
}

export const benchRecord = (n: number): OutRecord => ({
  key: `S${n % 4}`,
  // About what one frame's trades of one symbol take in Avro.
  value: Buffer.alloc(120 + (n % 64), n % 251),
  headers: { ce_id: `id-${n}`, ce_type: 'market.trades', 'content-type': 'application/avro' },
  timestampMs: 1_700_000_000_000 + n,
  receivedAt: 1_700_000_000_000 + n,
  trades: 3,
});
