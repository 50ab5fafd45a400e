import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimePaths, ServiceName } from './paths.ts';
import { findJvms, isAlive, isOurJvm, readPid } from './processes.ts';

export interface RuntimeEndpoints {
  readonly kafka: { readonly brokers: string[] };
  readonly cassandra: { readonly contactPoints: string[]; readonly localDataCenter: string };
}

/** state/runtime.json: what a running runtime offers and who started it. */
export interface RuntimeState extends RuntimeEndpoints {
  /** The Node process whose exit stops the JVMs; null for a detached runtime. */
  readonly ownerPid: number | null;
  readonly detached: boolean;
  readonly startedAt: string;
}

export function readState(paths: RuntimePaths): RuntimeState | undefined {
  try {
    return JSON.parse(readFileSync(paths.stateFile, 'utf8')) as RuntimeState;
  } catch {
    return undefined;
  }
}

export function writeState(paths: RuntimePaths, state: RuntimeState): void {
  mkdirSync(paths.stateDir, { recursive: true });
  const tmp = `${paths.stateFile}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, paths.stateFile);
}

export function clearState(paths: RuntimePaths, service?: ServiceName): void {
  if (service) {
    rmSync(paths.pidFile(service), { force: true });
    return;
  }
  rmSync(paths.stateFile, { force: true });
  rmSync(paths.pidFile('kafka'), { force: true });
  rmSync(paths.pidFile('cassandra'), { force: true });
}

export interface LiveJvm {
  readonly service: ServiceName;
  readonly pid: number;
}

/** Our live JVMs for this cache dir, from the pid files and (on Linux) a scan of /proc. */
export function liveJvms(paths: RuntimePaths): LiveJvm[] {
  const found = new Map<number, LiveJvm>();
  for (const service of ['kafka', 'cassandra'] as const) {
    const pid = readPid(paths.pidFile(service));
    if (pid !== undefined && isOurJvm(pid, paths.home, service)) found.set(pid, { service, pid });
  }
  for (const jvm of findJvms(paths.home)) found.set(jvm.pid, jvm);
  return [...found.values()].sort((a, b) => a.service.localeCompare(b.service) || a.pid - b.pid);
}

export function ownerAlive(state: RuntimeState | undefined): boolean {
  return state?.ownerPid != null && state.ownerPid !== process.pid && isAlive(state.ownerPid);
}

/**
 * Processes that reuse a runtime they did not start (e.g. a second test run) register here, so the
 * owner waits for them before stopping it instead of pulling it out from under their tests.
 */
function usersDir(paths: RuntimePaths): string {
  return join(paths.stateDir, 'users');
}

export function registerUser(paths: RuntimePaths, pid = process.pid): void {
  mkdirSync(usersDir(paths), { recursive: true });
  writeFileSync(join(usersDir(paths), String(pid)), '');
}

export function unregisterUser(paths: RuntimePaths, pid = process.pid): void {
  rmSync(join(usersDir(paths), String(pid)), { force: true });
}

/** Live registered users other than this process; entries of dead processes are removed on the way. */
export function otherUsers(paths: RuntimePaths): number[] {
  let names: string[];
  try {
    names = readdirSync(usersDir(paths));
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (isAlive(pid)) live.push(pid);
    else unregisterUser(paths, pid);
  }
  return live;
}
