import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRuntimeConfig } from './config.ts';
import { RuntimeError } from './errors.ts';
import { runtimePaths, type ServiceName } from './paths.ts';
import { identityFlags, isAlive } from './processes.ts';
import { acquireRuntime, startRuntime, stopRuntime } from './runtime.ts';
import { liveJvms, writeState } from './state.ts';

const homes: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function setup(extra: Record<string, string> = {}) {
  const home = mkdtempSync(join(tmpdir(), 'runtime-api-'));
  homes.push(home);
  const config = loadRuntimeConfig({ MARKET_RUNTIME_DIR: home, ...extra });
  return { home, config, paths: runtimePaths(home) };
}

/**
 * A process that looks like one of our JVMs in /proc: argv[0] is `java` and it carries the identity flags.
 * (`exec -a` names it; short sleeps in a loop leave no long-lived grandchild once it is killed.)
 */
async function fakeJvm(home: string, service: ServiceName): Promise<number> {
  const child = spawn(
    'bash',
    ['-c', `exec -a java sh -c 'while :; do sleep 1; done' ${identityFlags(home, service).join(' ')}`],
    {
      stdio: 'ignore',
    },
  );
  children.push(child);
  const pid = child.pid!;
  while (!liveJvms(runtimePaths(home)).some((j) => j.pid === pid)) await sleep(20);
  return pid;
}

const endpoints = {
  kafka: { brokers: ['127.0.0.1:1'] },
  cassandra: { contactPoints: ['127.0.0.1:2'], localDataCenter: 'datacenter1' },
};

async function rejection(p: Promise<unknown>): Promise<RuntimeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RuntimeError);
  return err as RuntimeError;
}

describe('acquireRuntime with MARKET_RUNTIME=external', () => {
  it('uses the given endpoints and starts nothing', async () => {
    const { config, home } = setup({
      MARKET_RUNTIME: 'external',
      MARKET_RUNTIME_KAFKA_BROKERS: 'kafka.example:9092',
      MARKET_RUNTIME_CASSANDRA_CONTACT_POINTS: 'cass.example:9042',
      MARKET_RUNTIME_CASSANDRA_DC: 'dc1',
    });
    const rt = await acquireRuntime({ config, log: () => {} });
    expect(rt).toMatchObject({
      owned: false,
      kafka: { brokers: ['kafka.example:9092'] },
      cassandra: { contactPoints: ['cass.example:9042'], localDataCenter: 'dc1' },
    });
    expect(liveJvms(runtimePaths(home))).toEqual([]);
  });

  it('fails in one line when nothing runs', async () => {
    const { config, home } = setup({ MARKET_RUNTIME: 'external' });
    const err = await rejection(acquireRuntime({ config, log: () => {} }));
    expect(err.code).toBe('NOT_RUNNING');
    expect(err.message).toBe(
      `MARKET_RUNTIME=external but no runtime answers from ${home}. Fix: start one with \`npm run runtime -- up --detach\`, or set MARKET_RUNTIME_KAFKA_BROKERS and MARKET_RUNTIME_CASSANDRA_CONTACT_POINTS`,
    );
  });
});

describe('leftovers of earlier runs', () => {
  it('a start refuses to touch a detached runtime that is still running', async () => {
    const { config, home, paths } = setup();
    const pid = await fakeJvm(home, 'kafka');
    writeState(paths, { ...endpoints, ownerPid: null, detached: true, startedAt: new Date().toISOString() });
    const err = await rejection(startRuntime({ config, log: () => {} }));
    expect(err.code).toBe('ALREADY_RUNNING');
    expect(err.message).toContain(`(detached; kafka pid ${pid})`);
    expect(err.message).toContain(
      'Fix: reuse it (MARKET_RUNTIME=auto does) or stop it with `npm run runtime -- down`',
    );
    expect(isAlive(pid)).toBe(true);
  });

  it('a start stops JVMs whose owner died, then goes on (here: to the missing Maven)', async () => {
    const { config, home, paths } = setup();
    const pid = await fakeJvm(home, 'cassandra');
    // A pid that cannot be alive: the owner of the crashed run.
    writeState(paths, {
      ...endpoints,
      ownerPid: 2 ** 22 + 1,
      detached: false,
      startedAt: new Date().toISOString(),
    });
    const lines: string[] = [];
    const err = await rejection(
      startRuntime({ config, env: { PATH: '/nonexistent' }, log: (l) => lines.push(l) }),
    );
    expect(err.code).toBe('MAVEN_MISSING');
    expect(isAlive(pid)).toBe(false);
    expect(lines).toContain(`stopping orphaned cassandra JVM (pid ${pid}) left by a run that crashed`);
    expect(existsSync(paths.stateFile)).toBe(false);
  });

  it('down stops only our JVMs of this cache dir', async () => {
    const a = setup();
    const b = setup();
    const ours = await fakeJvm(a.home, 'kafka');
    const theirs = await fakeJvm(b.home, 'kafka');
    const stopped = await stopRuntime({ config: a.config, log: () => {} });
    expect(stopped).toEqual([{ service: 'kafka', pid: ours }]);
    expect(isAlive(ours)).toBe(false);
    expect(isAlive(theirs)).toBe(true);
  });
});
