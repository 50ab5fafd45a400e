import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { renderPom, type ServiceArtifacts } from './artifacts.ts';
import { coordinateOf, type FetchMarker, inspectCache, listJars } from './cache.ts';
import { RuntimeError } from './errors.ts';
import { type RuntimePaths, runtimeSourceDir } from './paths.ts';

/** Pinned so the copy behaves the same on every machine, not whatever Maven's super-POM defaults to. */
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const PROGRESS_EVERY_MS = 2000;

export interface FetchTools {
  mvn: string;
  javaHome: string;
  log: (line: string) => void;
}

/** Maven's transfer lines name the repository URL; only the file name is worth showing (and keeping). */
export function transferredFile(line: string): string | undefined {
  const m =
    /^(?:\[INFO\] )?Downloaded from [^:]+: (\S+)/.exec(line) ?? /^\[INFO\] Copying (\S+) to /.exec(line);
  if (!m?.[1]) return undefined;
  return m[1].split('/').pop();
}

/**
 * Ensures libs/ holds the service's runtime classpath. Fetches only when the marker is missing or names
 * another version; returns the time spent fetching (0 when the cache was already complete).
 */
export async function ensureJars(
  a: ServiceArtifacts,
  paths: RuntimePaths,
  tools: FetchTools,
): Promise<number> {
  const state = inspectCache(a, paths);
  if (state.kind === 'ready') return 0;
  const label = `${a.service} ${a.main.version}`;
  const why =
    state.kind === 'partial'
      ? ' (previous fetch was interrupted; starting over)'
      : state.kind === 'other-version'
        ? ` (replacing ${state.version})`
        : '';
  tools.log(`fetching ${label} jars with Maven${why} ...`);
  const started = Date.now();
  const dir = paths.jars(a.service);
  const libs = paths.libs(a.service);
  const staging = join(dir, 'libs.partial');
  rmSync(paths.marker(a.service), { force: true });
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const pom = join(dir, 'pom.xml');
  writeFileSync(pom, renderPom(a));

  await runMaven(label, tools, [
    '-B',
    '-f',
    pom,
    `${DEPENDENCY_PLUGIN}:copy-dependencies`,
    '-DincludeScope=runtime',
    `-DoutputDirectory=${staging}`,
  ]);

  const files = listJars(staging);
  const missing = a.required.filter((name) => !(name in files));
  if (missing.length > 0) {
    throw new RuntimeError(
      'FETCH_FAILED',
      `Maven finished but ${missing.join(', ')} is not among the ${Object.keys(files).length} jars of ${label}`,
      'check the version settings (MARKET_RUNTIME_*_VERSION), then `npm run runtime -- reset-cache`',
    );
  }
  rmSync(libs, { recursive: true, force: true });
  renameSync(staging, libs);
  const marker: FetchMarker = {
    artifact: coordinateOf(a),
    version: a.main.version,
    fetchedAt: new Date().toISOString(),
    files,
  };
  const tmp = `${paths.marker(a.service)}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(marker, null, 2)}\n`);
  renameSync(tmp, paths.marker(a.service));
  const ms = Date.now() - started;
  tools.log(`fetched ${label}: ${Object.keys(files).length} jars in ${(ms / 1000).toFixed(1)} s`);
  return ms;
}

function runMaven(label: string, tools: FetchTools, args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    // Under the JVM watchdog with our stdin pipe: however this process ends (Ctrl-C, SIGTERM, SIGKILL), Maven
    // ends with it instead of finishing a download nobody waits for.
    const pidFile = join(tmpdir(), `market-mvn-${process.pid}-${Date.now()}.pid`);
    const child = spawn(
      'sh',
      [join(runtimeSourceDir, 'watchdog.sh'), pidFile, '5', '1', tools.mvn, ...args],
      {
        env: { ...process.env, JAVA_HOME: tools.javaHome },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    child.once('close', () => rmSync(pidFile, { force: true }));
    let count = 0;
    let last = '';
    let lastReport = Date.now();
    const errors: string[] = [];
    const onLine = (line: string) => {
      const file = transferredFile(line);
      if (file) {
        count += 1;
        last = file;
        if (Date.now() - lastReport >= PROGRESS_EVERY_MS) {
          lastReport = Date.now();
          tools.log(`  ${label}: ${count} files so far (${last})`);
        }
      } else if (line.startsWith('[ERROR]') && errors.length < 20) {
        errors.push(line.replace(/https?:\/\/\S+/g, '<repository>'));
      }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.once('error', (err) =>
      reject(
        new RuntimeError(
          'MAVEN_MISSING',
          `cannot run ${tools.mvn} (${err.message})`,
          'apt-get install maven',
        ),
      ),
    );
    child.once('close', (code) => {
      if (code === 0) {
        resolvePromise();
        return;
      }
      if (code === 127) {
        reject(new RuntimeError('MAVEN_MISSING', `cannot run ${tools.mvn}`, 'apt-get install maven'));
        return;
      }
      const reason =
        errors.find((e) => /Could not|Failed|resolve/i.test(e)) ?? errors[0] ?? `exit code ${code}`;
      reject(
        new RuntimeError(
          'FETCH_FAILED',
          `Maven could not fetch ${label}: ${reason.replace(/^\[ERROR\]\s*/, '').slice(0, 300)}`,
          'check network access to Maven Central and the version settings, then rerun',
        ),
      );
    });
  });
}
