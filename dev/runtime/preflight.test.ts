import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadRuntimeConfig } from './config.ts';
import { RuntimeError } from './errors.ts';
import { findJava, parseJavaMajor, preflightPorts, preflightTools } from './preflight.ts';

const scratch = mkdtempSync(join(tmpdir(), 'runtime-preflight-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A directory with a fake `java` that reports `version` the way the real one does (on stderr). */
function fakeJdk(name: string, version: string): { home: string; bin: string } {
  const home = join(scratch, name);
  mkdirSync(join(home, 'bin'), { recursive: true });
  const bin = join(home, 'bin', 'java');
  writeFileSync(bin, `#!/bin/sh\necho 'openjdk version "${version}" 2025-04-15' >&2\n`);
  chmodSync(bin, 0o755);
  return { home, bin };
}

function fakeTool(dir: string, name: string): string {
  mkdirSync(join(scratch, dir), { recursive: true });
  const bin = join(scratch, dir, name);
  writeFileSync(bin, '#!/bin/sh\nexit 0\n');
  chmodSync(bin, 0o755);
  return join(scratch, dir);
}

function caught(fn: () => unknown): RuntimeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RuntimeError) return err;
    throw err;
  }
  throw new Error('expected a RuntimeError');
}

const jdk17 = fakeJdk('jdk17', '17.0.15');
const jdk25 = fakeJdk('jdk25', '25');
const jdk11 = fakeJdk('jdk11', '11.0.22');
const mvnDir = fakeTool('mvn-only', 'mvn');
const empty = join(scratch, 'empty');
mkdirSync(empty, { recursive: true });

describe('parseJavaMajor', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['openjdk version "25" 2025-09-16', 25],
    ['java version "1.8.0_402"', 8],
    ['openjdk version "11.0.22" 2024-01-16 LTS', 11],
    ['command not found', undefined],
  ])('%s -> %s', (text, major) => {
    expect(parseJavaMajor(text)).toBe(major);
  });
});

describe('findJava / preflightTools', () => {
  it.each([
    ['java 17 on PATH', { PATH: join(jdk17.home, 'bin') }, jdk17.bin],
    ['JAVA_HOME 17 wins over PATH 25', { JAVA_HOME: jdk17.home, PATH: join(jdk25.home, 'bin') }, jdk17.bin],
    [
      'a JAVA_HOME that is not 17 is passed over for PATH 17',
      { JAVA_HOME: jdk25.home, PATH: join(jdk17.home, 'bin') },
      jdk17.bin,
    ],
  ])('%s', (_, env, bin) => {
    const java = findJava({ env, jvmRoots: [] });
    expect(java).toEqual({ bin, home: bin.replace(/\/bin\/java$/, ''), major: 17 });
  });

  it('finds a JDK 17 among installed JDKs when PATH only has another one', () => {
    expect(findJava({ env: { PATH: join(jdk25.home, 'bin') }, jvmRoots: [scratch] }).bin).toBe(jdk17.bin);
  });

  it.each([
    [
      'no java at all',
      { PATH: empty },
      false,
      'JAVA_MISSING',
      'Java 17 not found (no java on PATH). Fix: apt-get install openjdk-17-jre-headless (or set JAVA_HOME to a JDK 17)',
    ],
    [
      'neither java nor mvn',
      { PATH: empty },
      true,
      'JAVA_MISSING',
      'Java 17 and Maven (mvn) not found on PATH. Fix: apt-get install openjdk-17-jre-headless maven',
    ],
    [
      'java but no mvn',
      { PATH: join(jdk17.home, 'bin') },
      true,
      'MAVEN_MISSING',
      'Maven (mvn) not found on PATH. Fix: apt-get install maven',
    ],
    [
      'only Java 25 and 11',
      { JAVA_HOME: jdk25.home, PATH: `${join(jdk11.home, 'bin')}:${mvnDir}` },
      true,
      'JAVA_VERSION',
      `Kafka 4 and Cassandra 5.0 need Java 17 but ${jdk25.bin} is Java 25, ${jdk11.bin} is Java 11. Fix: apt-get install openjdk-17-jre-headless and set JAVA_HOME to it`,
    ],
  ])('%s: one line with cause and fix', (_, env, needMaven, code, message) => {
    const err = caught(() => preflightTools({ env, jvmRoots: [] }, needMaven));
    expect(err.code).toBe(code);
    expect(err.message).toBe(message);
    expect(err.message).not.toContain('\n');
  });

  it('does not ask for Maven when the jar cache is complete', () => {
    expect(
      preflightTools({ env: { PATH: join(jdk17.home, 'bin') }, jvmRoots: [] }, false).mvn,
    ).toBeUndefined();
  });
});

describe('preflightPorts', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  async function listen(): Promise<number> {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as { port: number }).port;
  }
  /** A port that was free a moment ago (the OS does not hand it out again right away). */
  async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    await new Promise((r) => server.close(r));
    return port;
  }
  async function config(taken: Partial<Record<string, number>>) {
    const env: Record<string, string> = {};
    for (const name of [
      'MARKET_RUNTIME_KAFKA_PORT',
      'MARKET_RUNTIME_KAFKA_CONTROLLER_PORT',
      'MARKET_RUNTIME_CASSANDRA_PORT',
      'MARKET_RUNTIME_CASSANDRA_STORAGE_PORT',
    ]) {
      env[name] = String(taken[name] ?? (await freePort()));
    }
    return loadRuntimeConfig(env);
  }

  it('passes when every port is free', async () => {
    await expect(preflightPorts(await config({}))).resolves.toBeUndefined();
  });

  it.each([
    ['MARKET_RUNTIME_KAFKA_PORT', 'Kafka'],
    ['MARKET_RUNTIME_CASSANDRA_PORT', 'Cassandra CQL'],
    ['MARKET_RUNTIME_CASSANDRA_STORAGE_PORT', 'Cassandra storage'],
  ])('a taken %s is named with the variable that moves it', async (env, service) => {
    const port = await listen();
    const err = await preflightPorts(await config({ [env]: port })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RuntimeError);
    const e = err as RuntimeError;
    expect(e.code).toBe('PORT_IN_USE');
    expect(e.message).toBe(
      `port ${port} (${service}) on 127.0.0.1 already in use. Fix: stop whatever listens there (see: ss -ltnp), or \`npm run runtime -- down\` if it is a detached runtime, or set ${env}=<free port>`,
    );
  });
});
