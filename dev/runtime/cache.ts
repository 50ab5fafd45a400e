import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceArtifacts } from './artifacts.ts';
import { RuntimeError } from './errors.ts';
import type { RuntimePaths } from './paths.ts';

/** Written last, after every jar is in place: its presence is what "the fetch completed" means. */
export interface FetchMarker {
  readonly artifact: string;
  readonly version: string;
  readonly fetchedAt: string;
  /** jar name -> size in bytes; a cheap check that nothing was truncated or deleted since. */
  readonly files: Readonly<Record<string, number>>;
}

export type CacheState =
  | { readonly kind: 'ready'; readonly marker: FetchMarker }
  | { readonly kind: 'missing' }
  | { readonly kind: 'partial' }
  | { readonly kind: 'other-version'; readonly version: string };

const RESET = 'npm run runtime -- reset-cache';

export function coordinateOf(a: ServiceArtifacts): string {
  return `${a.main.groupId}:${a.main.artifactId}`;
}

export function listJars(dir: string): Record<string, number> {
  const files: Record<string, number> = {};
  for (const name of readdirSync(dir).sort()) {
    if (name.endsWith('.jar')) files[name] = statSync(join(dir, name)).size;
  }
  return files;
}

/**
 * A missing marker with jars present means an interrupted fetch: safe to redo. A marker that disagrees
 * with the jars means someone changed the cache behind our back: report it instead of guessing.
 */
export function inspectCache(a: ServiceArtifacts, paths: RuntimePaths): CacheState {
  const markerFile = paths.marker(a.service);
  const libs = paths.libs(a.service);
  if (!existsSync(markerFile)) return existsSync(libs) ? { kind: 'partial' } : { kind: 'missing' };
  const where = `${a.service} jar cache ${paths.jars(a.service)}`;
  let marker: FetchMarker;
  try {
    marker = JSON.parse(readFileSync(markerFile, 'utf8')) as FetchMarker;
    if (typeof marker.version !== 'string' || typeof marker.files !== 'object' || marker.files === null) {
      throw new Error('fields missing');
    }
  } catch {
    throw new RuntimeError('CACHE_CORRUPT', `${where} is corrupt (unreadable fetched.json)`, RESET);
  }
  if (marker.artifact !== coordinateOf(a) || marker.version !== a.main.version) {
    return { kind: 'other-version', version: marker.version };
  }
  if (!existsSync(libs)) {
    throw new RuntimeError('CACHE_CORRUPT', `${where} is corrupt (libs/ is missing)`, RESET);
  }
  const actual = listJars(libs);
  const expected = Object.entries(marker.files);
  const broken = expected.filter(([name, size]) => actual[name] !== size).map(([name]) => name);
  if (expected.length === 0 || broken.length > 0) {
    const sample = broken.slice(0, 3).join(', ') + (broken.length > 3 ? ', ...' : '');
    throw new RuntimeError(
      'CACHE_CORRUPT',
      `${where} is corrupt (${expected.length === 0 ? 'no jars recorded' : `missing or changed: ${sample}`})`,
      RESET,
    );
  }
  return { kind: 'ready', marker };
}
