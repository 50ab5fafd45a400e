import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serviceArtifacts } from './artifacts.ts';
import { inspectCache } from './cache.ts';
import { loadRuntimeConfig } from './config.ts';
import { RuntimeError } from './errors.ts';
import { ensureJars } from './fetch.ts';
import { runtimePaths } from './paths.ts';

const kafka = serviceArtifacts(loadRuntimeConfig({})).kafka;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * A stand-in for `mvn`: writes `jars` into the -DoutputDirectory it is given, prints Maven-style lines,
 * exits with `code`, and counts its calls (to prove a complete cache is not fetched again).
 */
function fakeMaven(jars: string[], code = 0, output: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'runtime-fetch-'));
  dirs.push(dir);
  const mvn = join(dir, 'mvn');
  const lines = output.map((l) => `echo '${l}'`).join('\n');
  const writes = jars.map((j) => `printf 'jar:${j}' > "$out/${j}"`).join('\n');
  writeFileSync(
    mvn,
    `#!/bin/sh
echo run >> "${dir}/calls"
for a in "$@"; do case "$a" in -DoutputDirectory=*) out="\${a#-DoutputDirectory=}";; esac; done
mkdir -p "$out"
${writes}
${lines}
exit ${code}
`,
  );
  chmodSync(mvn, 0o755);
  const paths = runtimePaths(join(dir, 'cache'));
  const log: string[] = [];
  const calls = () =>
    existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').split('\n').length - 1 : 0;
  return { tools: { mvn, javaHome: '/unused', log: (l: string) => log.push(l) }, paths, log, calls };
}

const allJars = ['kafka_2.13-4.1.1.jar', 'kafka-clients-4.1.1.jar', 'scala-library-2.13.16.jar'];

describe('ensureJars', () => {
  it('copies the classpath, then writes the marker; a second call fetches nothing', async () => {
    const m = fakeMaven(allJars, 0, [
      'Downloaded from central: https://example.invalid/x/kafka-clients-4.1.1.jar (19 MB at 9 MB/s)',
    ]);
    expect(await ensureJars(kafka, m.paths, m.tools)).toBeGreaterThanOrEqual(0);
    expect(readdirSync(m.paths.libs('kafka')).sort()).toEqual([...allJars].sort());
    const state = inspectCache(kafka, m.paths);
    expect(state.kind).toBe('ready');
    if (state.kind === 'ready') {
      expect(state.marker).toMatchObject({ artifact: 'org.apache.kafka:kafka_2.13', version: '4.1.1' });
      expect(state.marker.files['kafka-clients-4.1.1.jar']).toBe('jar:kafka-clients-4.1.1.jar'.length);
    }
    expect(m.log[0]).toBe('fetching kafka 4.1.1 jars with Maven ...');
    expect(m.log.at(-1)).toMatch(/^fetched kafka 4\.1\.1: 3 jars in \d+\.\d s$/);
    expect(m.log.join('\n')).not.toContain('example.invalid');
    expect(await ensureJars(kafka, m.paths, m.tools)).toBe(0);
    expect(m.calls()).toBe(1);
  });

  it('starts over after an interrupted fetch (jars present, no marker)', async () => {
    const m = fakeMaven(allJars);
    await ensureJars(kafka, m.paths, m.tools);
    rmSync(m.paths.marker('kafka'));
    await ensureJars(kafka, m.paths, m.tools);
    expect(m.calls()).toBe(2);
    expect(m.log).toContain(
      'fetching kafka 4.1.1 jars with Maven (previous fetch was interrupted; starting over) ...',
    );
    expect(inspectCache(kafka, m.paths).kind).toBe('ready');
  });

  it.each([
    [
      'Maven fails',
      () =>
        fakeMaven(allJars, 1, [
          '[ERROR] Failed to execute goal on project kafka-runtime: Could not resolve dependencies for project local.runtime:kafka-runtime:pom:1: https://example.invalid/ unreachable',
        ]),
      'Maven could not fetch kafka 4.1.1: Failed to execute goal on project kafka-runtime: Could not resolve dependencies for project local.runtime:kafka-runtime:pom:1: <repository> unreachable. Fix: check network access to Maven Central and the version settings, then rerun',
    ],
    [
      'the main jar is not among the copied ones',
      () => fakeMaven(['kafka-clients-4.1.1.jar']),
      'Maven finished but kafka_2.13-4.1.1.jar is not among the 1 jars of kafka 4.1.1. Fix: check the version settings (MARKET_RUNTIME_*_VERSION), then `npm run runtime -- reset-cache`',
    ],
  ])('%s: one-line FETCH_FAILED, and no marker is left behind', async (_, fake, message) => {
    // Built per test: afterEach removes the directories of the previous one.
    const m = fake();
    const err = await ensureJars(kafka, m.paths, m.tools).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe('FETCH_FAILED');
    expect((err as RuntimeError).message).toBe(message);
    expect(existsSync(m.paths.marker('kafka'))).toBe(false);
    expect(inspectCache(kafka, m.paths).kind).not.toBe('ready');
  });
});
