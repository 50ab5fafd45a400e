import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runtimeSourceDir, type ServiceName } from './paths.ts';

/**
 * Every JVM we start carries these two system properties; they let us tell our JVMs from anything else
 * that happens to reuse a pid after a crash, and find orphans even when their pid files are gone.
 */
export function identityFlags(home: string, service: ServiceName): string[] {
  return [`-Dmarket.runtime.home=${home}`, `-Dmarket.runtime.service=${service}`];
}

/** The JVM's argv, or undefined for any other process (its watchdog shell repeats the same arguments). */
function jvmCmdline(pid: number): string[] | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return /(^|\/)java$/.test(args[0] ?? '') ? args : undefined;
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (a zombie answers kill(pid, 0) but holds no ports and does no work). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/s.test(stat);
  } catch {
    return true;
  }
}

/** Whether pid is one of our JVMs for this cache dir (without /proc, trusts the pid file). */
export function isOurJvm(pid: number, home: string, service: ServiceName): boolean {
  if (!isAlive(pid)) return false;
  if (!existsSync('/proc')) return true;
  const args = jvmCmdline(pid);
  if (!args) return false;
  return (
    args.includes(`-Dmarket.runtime.home=${home}`) && args.includes(`-Dmarket.runtime.service=${service}`)
  );
}

/** Our JVMs for this cache dir, found through /proc (Linux); empty elsewhere. */
export function findJvms(home: string): { pid: number; service: ServiceName }[] {
  if (!existsSync('/proc')) return [];
  const found: { pid: number; service: ServiceName }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const args = jvmCmdline(Number(entry));
    if (!args?.includes(`-Dmarket.runtime.home=${home}`)) continue;
    const service = args.find((a) => a.startsWith('-Dmarket.runtime.service='))?.split('=')[1];
    if ((service === 'kafka' || service === 'cassandra') && isAlive(Number(entry))) {
      found.push({ pid: Number(entry), service });
    }
  }
  return found;
}

export function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function terminate(pid: number, graceMs: number): Promise<'stopped' | 'killed' | 'gone'> {
  if (!isAlive(pid)) return 'gone';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'stopped';
  }
  while (isAlive(pid)) await sleep(50);
  return 'killed';
}

export interface SupervisedJvm {
  readonly pid: number;
  readonly supervisor: ChildProcess;
  /** Resolves with the JVM's exit code when the supervisor (and so the JVM) has ended. */
  readonly exited: Promise<number | null>;
}

/** How the watchdog runs a service's JVM on a small machine (see watchdog.sh). */
export type JvmTuning = Pick<SpawnJvmOptions, 'idleThreads' | 'timerSlackNs'>;

export interface SpawnJvmOptions {
  java: string;
  args: readonly string[];
  cwd: string;
  logFile: string;
  pidFile: string;
  /** false: the JVM dies with this Node process; true: it keeps running until stopped via its pid file. */
  detached: boolean;
  graceMs: number;
  /** Shell pattern of thread names (/proc comm, 15 characters) the watchdog runs at nice 19. */
  idleThreads?: string;
  /** Timer slack (ns) the JVM starts with, and so every thread it makes; absent or 0: the kernel's default. */
  timerSlackNs?: number;
}

/**
 * The JVM's JIT compiler threads as /proc names them. Background work at nice 19: on two cores a burst of
 * compilation (minutes after a start, or when a new code path first runs) otherwise takes a core from the
 * request path; at idle priority it uses what the pipeline leaves, and the code runs compiled a little later.
 */
export const JIT_COMPILER_THREADS = 'C1 Compiler*,C2 Compiler*';

/** Starts `java args` under dev/runtime/watchdog.sh and waits until the JVM's pid is known. */
export async function spawnJvm(opts: SpawnJvmOptions): Promise<SupervisedJvm> {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  mkdirSync(dirname(opts.pidFile), { recursive: true });
  rmSync(opts.pidFile, { force: true });
  const log = openSync(opts.logFile, 'a');
  const graceSeconds = String(Math.max(1, Math.ceil(opts.graceMs / 1000)));
  let supervisor: ChildProcess;
  try {
    supervisor = spawn(
      'sh',
      [
        join(runtimeSourceDir, 'watchdog.sh'),
        opts.pidFile,
        graceSeconds,
        opts.detached ? '0' : '1',
        opts.java,
        ...opts.args,
      ],
      {
        cwd: opts.cwd,
        env: {
          ...process.env,
          ...(opts.idleThreads && { WATCHDOG_IDLE_THREADS: opts.idleThreads }),
          ...(opts.timerSlackNs && { WATCHDOG_TIMER_SLACK_NS: String(opts.timerSlackNs) }),
        },
        // Own process group: a Ctrl-C in the terminal reaches only us, and we stop the JVMs in order.
        detached: true,
        stdio: [opts.detached ? 'ignore' : 'pipe', log, log],
      },
    );
  } finally {
    closeSync(log);
  }
  const exited = new Promise<number | null>((resolvePromise) => {
    supervisor.once('exit', (code) => resolvePromise(code));
    supervisor.once('error', () => resolvePromise(null));
  });
  if (opts.detached) supervisor.unref();
  else {
    // The pipe must not keep Node's event loop alive; it only has to exist until Node ends.
    (supervisor.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    supervisor.unref();
  }
  let pid: number | undefined;
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  while (pid === undefined) {
    pid = readPid(opts.pidFile);
    if (pid === undefined) {
      if (ended) throw new Error(`the ${opts.java} launcher ended before starting (see ${opts.logFile})`);
      await sleep(20);
    }
  }
  return { pid, supervisor, exited };
}
