import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderPom, serviceArtifacts } from './artifacts.ts';
import { inspectCache } from './cache.ts';
import { loadRuntimeConfig } from './config.ts';
import { RuntimeError } from './errors.ts';
import { transferredFile } from './fetch.ts';
import { runtimePaths } from './paths.ts';

const cfg = loadRuntimeConfig({});
const kafka = serviceArtifacts(cfg).kafka;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A cache dir holding the given jars (name -> content) and, optionally, a marker. */
function cache(jars: Record<string, string> | undefined, marker?: unknown) {
  const home = mkdtempSync(join(tmpdir(), 'runtime-cache-'));
  dirs.push(home);
  const paths = runtimePaths(home);
  if (jars) {
    mkdirSync(paths.libs('kafka'), { recursive: true });
    for (const [name, content] of Object.entries(jars))
      writeFileSync(join(paths.libs('kafka'), name), content);
  }
  if (marker !== undefined) {
    mkdirSync(paths.jars('kafka'), { recursive: true });
    writeFileSync(paths.marker('kafka'), typeof marker === 'string' ? marker : JSON.stringify(marker));
  }
  return paths;
}

const good = {
  artifact: 'org.apache.kafka:kafka_2.13',
  version: '4.1.1',
  fetchedAt: '2026-01-01T00:00:00Z',
  files: { 'kafka_2.13-4.1.1.jar': 3, 'kafka-clients-4.1.1.jar': 2 },
};
const goodJars = { 'kafka_2.13-4.1.1.jar': 'abc', 'kafka-clients-4.1.1.jar': 'de' };

describe('inspectCache', () => {
  it.each([
    ['nothing fetched yet', undefined, undefined, 'missing'],
    ['jars but no marker (interrupted fetch)', goodJars, undefined, 'partial'],
    ['marker of another version', goodJars, { ...good, version: '4.0.0' }, 'other-version'],
    ['complete', goodJars, good, 'ready'],
  ])('%s -> %s', (_, jars, marker, kind) => {
    expect(inspectCache(kafka, cache(jars, marker)).kind).toBe(kind);
  });

  it.each([
    ['an unreadable marker', goodJars, '{"version": "4.1', 'unreadable fetched.json'],
    ['a jar that shrank', { ...goodJars, 'kafka-clients-4.1.1.jar': 'd' }, good, 'kafka-clients-4.1.1.jar'],
    ['a jar that vanished', { 'kafka_2.13-4.1.1.jar': 'abc' }, good, 'kafka-clients-4.1.1.jar'],
    ['libs/ deleted', undefined, good, 'libs/ is missing'],
    ['a marker listing no jars', goodJars, { ...good, files: {} }, 'no jars recorded'],
  ])('%s is reported in one line with the reset-cache fix', (_, jars, marker, detail) => {
    let err: unknown;
    try {
      inspectCache(kafka, cache(jars, marker));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuntimeError);
    const e = err as RuntimeError;
    expect(e.code).toBe('CACHE_CORRUPT');
    expect(e.message).toContain(detail);
    expect(e.message).toMatch(/ is corrupt \(.*\)\. Fix: npm run runtime -- reset-cache$/);
    expect(e.message).not.toContain('\n');
  });
});

describe('Maven output', () => {
  it.each([
    [
      'Downloaded from central: https://example.invalid/maven2/org/apache/kafka/kafka-clients/4.1.1/kafka-clients-4.1.1.jar (19 MB at 9 MB/s)',
      'kafka-clients-4.1.1.jar',
    ],
    ['[INFO] Downloaded from central: https://example.invalid/a/b/c.pom (2 kB at 1 MB/s)', 'c.pom'],
    ['[INFO] Copying jamm-0.4.0.jar to /x/libs.partial/jamm-0.4.0.jar', 'jamm-0.4.0.jar'],
    ['Downloading from central: https://example.invalid/a/b/c.jar', undefined],
    ['[INFO] BUILD SUCCESS', undefined],
  ])('%s -> %s', (line, file) => {
    expect(transferredFile(line)).toBe(file);
  });

  it('the generated POM asks for the main artifact and the extras, nothing else', () => {
    const pom = renderPom(kafka);
    expect(pom).toContain(
      '<groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>4.1.1</version>',
    );
    expect(pom).toContain('<artifactId>log4j-slf4j-impl</artifactId>');
    expect(pom.match(/<dependency>/g)).toHaveLength(2);
    expect(pom).not.toMatch(/<repositor/);
  });
});
