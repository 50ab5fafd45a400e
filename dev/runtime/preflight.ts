import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import type { Env } from '../../shared/config/index.ts';
import { portSettings, type RuntimeConfig } from './config.ts';
import { RuntimeError } from './errors.ts';

/** Cassandra 5.0 refuses anything but 11 and 17 and Kafka 4 needs 17+: 17 is the one JDK both accept. */
export const REQUIRED_JAVA = 17;
const INSTALL_JAVA = 'apt-get install openjdk-17-jre-headless';
const INSTALL_MAVEN = 'apt-get install maven';

export interface JavaInfo {
  readonly bin: string;
  /** Directory to export as JAVA_HOME for Maven, so it runs on the same JDK. */
  readonly home: string;
  readonly major: number;
}

/** `java -version` prints e.g. `openjdk version "17.0.15"` or, before Java 9, `"1.8.0_402"`. */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(versionOutput);
  if (!m) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] !== undefined ? Number(m[2]) : first;
}

function which(cmd: string, env: Env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, cmd);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function javaMajor(bin: string): number | undefined {
  const r = spawnSync(bin, ['-version'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) return undefined;
  return parseJavaMajor(`${r.stderr}${r.stdout}`);
}

export interface JavaSearch {
  env: Env;
  /** Where JDKs are installed side by side (Debian: /usr/lib/jvm); searched when neither JAVA_HOME nor PATH has 17. */
  jvmRoots?: readonly string[];
}

/**
 * Finds a JDK 17: JAVA_HOME first (the user's explicit choice), then `java` on PATH, then installed JDKs.
 * A non-17 JAVA_HOME is skipped rather than fatal because machines here also carry a newer JDK that
 * Cassandra cannot run on.
 */
export function findJava({ env, jvmRoots = ['/usr/lib/jvm'] }: JavaSearch): JavaInfo {
  const seen: string[] = [];
  const candidates: string[] = [];
  if (env.JAVA_HOME) candidates.push(join(env.JAVA_HOME, 'bin', 'java'));
  const onPath = which('java', env);
  if (onPath) candidates.push(onPath);
  for (const root of jvmRoots) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      if (name.includes(String(REQUIRED_JAVA))) candidates.push(join(root, name, 'bin', 'java'));
    }
  }
  for (const bin of candidates) {
    if (!existsSync(bin)) continue;
    const major = javaMajor(bin);
    // /usr/bin/java is a symlink chain on Debian; JAVA_HOME for Maven must be the JDK's own directory.
    if (major === REQUIRED_JAVA) return { bin, home: dirname(dirname(realpathSync(bin))), major };
    seen.push(`${bin} is Java ${major ?? 'of unknown version'}`);
  }
  if (seen.length === 0) {
    throw new RuntimeError(
      'JAVA_MISSING',
      `Java ${REQUIRED_JAVA} not found (no java on PATH${env.JAVA_HOME ? `, none in JAVA_HOME=${env.JAVA_HOME}` : ''})`,
      `${INSTALL_JAVA} (or set JAVA_HOME to a JDK ${REQUIRED_JAVA})`,
    );
  }
  throw new RuntimeError(
    'JAVA_VERSION',
    `Kafka 4 and Cassandra 5.0 need Java ${REQUIRED_JAVA} but ${seen.join(', ')}`,
    `${INSTALL_JAVA} and set JAVA_HOME to it`,
  );
}

export function findMaven(env: Env): string {
  const mvn = which('mvn', env);
  if (!mvn) throw new RuntimeError('MAVEN_MISSING', 'Maven (mvn) not found on PATH', INSTALL_MAVEN);
  return mvn;
}

/**
 * Both tools at once, so a fresh machine learns everything it lacks from one line.
 * Maven is only needed while the jar cache is incomplete.
 */
export function preflightTools(search: JavaSearch, needMaven: boolean): { java: JavaInfo; mvn?: string } {
  let java: JavaInfo | undefined;
  let javaError: RuntimeError | undefined;
  try {
    java = findJava(search);
  } catch (err) {
    if (!(err instanceof RuntimeError)) throw err;
    javaError = err;
  }
  const mvn = needMaven ? which('mvn', search.env) : undefined;
  if (javaError?.code === 'JAVA_MISSING' && needMaven && !mvn) {
    throw new RuntimeError(
      'JAVA_MISSING',
      `Java ${REQUIRED_JAVA} and Maven (mvn) not found on PATH`,
      'apt-get install openjdk-17-jre-headless maven',
    );
  }
  if (javaError) throw javaError;
  if (needMaven && !mvn) findMaven(search.env);
  return mvn ? { java: java!, mvn } : { java: java! };
}

/** True when something already listens on host:port (binding is the only race-free test). */
export function isPortTaken(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolvePromise(true);
      else reject(err);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolvePromise(false)));
  });
}

/** Throws one PORT_IN_USE error naming every taken port and the variable that moves it. */
export async function preflightPorts(cfg: RuntimeConfig): Promise<void> {
  const checks = await Promise.all(
    portSettings.map(async (s) => ({ ...s, port: cfg[s.key], taken: await isPortTaken(cfg[s.key]) })),
  );
  const taken = checks.filter((c) => c.taken);
  if (taken.length === 0) return;
  const what = taken.map((t) => `${t.port} (${t.service})`).join(', ');
  const fix = taken.map((t) => `${t.env}=<free port>`).join(' ');
  throw new RuntimeError(
    'PORT_IN_USE',
    `port${taken.length > 1 ? 's' : ''} ${what} on 127.0.0.1 already in use`,
    `stop whatever listens there (see: ss -ltnp), or \`npm run runtime -- down\` if it is a detached runtime, or set ${fix}`,
  );
}
