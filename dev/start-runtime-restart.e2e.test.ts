/**
 * `npm start` restarts a Kafka or Cassandra JVM it owns, as the kubelet restarts a pod (issue 13, point 3):
 * against a private runtime (own dir and ports; the jar cache shared), SIGKILL of the Kafka JVM and then of the
 * Cassandra JVM: each is restarted with backoff on its kept data dir, the pipeline is ready again and new trades
 * are stored; SIGTERM to the `npm start` process then leaves no process behind, restarted JVMs included.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePortRun } from './pipeline/ports.ts';
import { alive, descendants } from './pipeline/process-tree.ts';
import { repoRoot } from './pipeline/service.ts';
import { loadRuntimeConfig } from './runtime/config.ts';
import { killTree, privateRuntimeEnv } from './start-test-env.ts';

const home = mkdtempSync(join(tmpdir(), 'mp-start-jvm-restart-'));
const runtimeDir = join(home, 'runtime');
let child: ChildProcess | undefined;
let output = '';

afterAll(() => killTree(child));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 180_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (child?.exitCode !== null || Date.now() > deadline)
      throw new Error(`gave up waiting for ${what}\n--- npm start output:\n${output}`);
    await sleep(500);
  }
}
/** The pid of this runtime's JVM for `service` (its identity flags, dev/runtime/processes.ts). */
const jvmPid = (service: 'kafka' | 'cassandra') =>
  descendants(child!.pid!).find((p) => {
    try {
      const args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      return (
        /(^|\/)java$/.test(args[0] ?? '') &&
        args.includes(`-Dmarket.runtime.home=${runtimeDir}`) &&
        args.includes(`-Dmarket.runtime.service=${service}`)
      );
    } catch {
      return false;
    }
  });
/** Trades trade-writer stored (mp_function_trades_total counts successfully handled events' trades). */
async function stored(url: string): Promise<number> {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const m = /^mp_function_trades_total\{[^}]*function="trade-writer"[^}]*\} (\S+)$/m.exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
const ready = async (url: string) => {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200;
  } catch {
    return false;
  }
};

describe('npm start with its own runtime', () => {
  it('restarts a SIGKILLed Kafka and Cassandra JVM, trades flow again, and SIGTERM leaves nothing', async () => {
    mkdirSync(runtimeDir, { recursive: true });
    symlinkSync(resolve(repoRoot, loadRuntimeConfig().cacheDir, 'jars'), join(runtimeDir, 'jars'));
    const base = await freePortRun(6);
    const urls = [0, 1, 2, 3, 4].map((i) => `http://127.0.0.1:${base + i}`);
    const tradeWriter = urls[0]!;
    child = spawn('npm', ['start', '--silent'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...(await privateRuntimeEnv(runtimeDir)),
        LOCAL_PORT_BASE: String(base),
        VIEWER_PORT: String(await freePortRun(1)),
        LOCAL_WORK_DIR: join(home, 'local'),
        REPLAY_TRADES_PER_SECOND: '100',
        LOG_LEVEL: 'warn',
      },
    });
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });
    await until('the status block', () => output.includes('market pipeline is running'), 240_000);
    await until('trades stored', async () => (await stored(tradeWriter)) > 0);

    const t0 = Date.now();
    for (const service of ['kafka', 'cassandra'] as const) {
      const pid = jvmPid(service);
      expect(pid, `${service} JVM pid`).toBeDefined();
      process.kill(pid!, 'SIGKILL');
      await until(`${service} restarted`, () => output.includes(`[start] ${service} restarted (restart 1,`));
      expect(output).toMatch(new RegExp(`\\[start\\] ${service} exited \\(code \\d+\\); restarting in`));
      expect(jvmPid(service)).not.toBe(pid);
      // The services reconnect by themselves: every one is ready again and new trades are stored.
      for (const url of urls) await until(`${url}/readyz after the ${service} restart`, () => ready(url));
      const before = await stored(tradeWriter);
      await until(
        `new trades stored after the ${service} restart`,
        async () => (await stored(tradeWriter)) > before,
      );
    }
    process.stderr.write(
      `[start] kafka and cassandra SIGKILLed in turn; trades stored again after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    const lastStatus = output.slice(output.lastIndexOf('market pipeline is running'));
    expect(lastStatus).toMatch(/kafka .*restarts: 1/);
    expect(lastStatus).toMatch(/cassandra .*restarts: 1/);

    // To the npm process only, as a process manager or `kill <pid>` does.
    const tree = descendants(child.pid!);
    process.kill(child.pid!, 'SIGTERM');
    const deadline = Date.now() + 90_000;
    while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(250);
    while (tree.some(alive) && Date.now() < deadline) await sleep(250);
    expect(tree.filter(alive), 'processes left behind').toEqual([]);
  }, 600_000);
});
