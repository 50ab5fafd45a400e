import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The steering repo's `shared/` sits beside the clone (CI lays it out the same way). */
export const seedDataDir = process.env.SEED_DATA_DIR ?? resolve(repoRoot, '..', 'shared', 'seed-data');

export const readSeedJson = <T = unknown>(relative: string): T =>
  JSON.parse(readFileSync(resolve(seedDataDir, relative), 'utf8')) as T;

/** A name unique to this test run, for topics and keyspaces (lowercase, Cassandra-safe). */
export const uniqueName = (prefix: string): string =>
  `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
