import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Seed schemas, sample Finnhub frames and golden Avro vectors, copied into the repo (see its README). */
export const fixturesDir = resolve(repoRoot, 'test', 'fixtures', 'seeds');

export const readFixture = (name: string): string => readFileSync(resolve(fixturesDir, name), 'utf8');
export const readFixtureJson = <T = unknown>(name: string): T => JSON.parse(readFixture(name)) as T;

/** A name unique to this test run, for topics and keyspaces (lowercase, Cassandra-safe). */
export const uniqueName = (prefix: string): string =>
  `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
