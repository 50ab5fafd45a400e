import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { loadRuntimeConfig } from '../dev/runtime/config.ts';
import { runtimePaths } from '../dev/runtime/paths.ts';
import type { RuntimeEndpoints } from '../dev/runtime/runtime.ts';
import { liveJvms } from '../dev/runtime/state.ts';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** CPU seconds (user + system, all threads) a process has used so far, or undefined if it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/** CPU milliseconds per 1,000 trades from CPU seconds used while `trades` trades went through (NaN for none). */
export const cpuMsPer1000 = (cpuS: number, trades: number): number =>
  trades > 0 ? Math.round(((cpuS * 1000) / trades) * 1000 * 10) / 10 : Number.NaN;

/** A ratio rounded to two decimals (NaN when the denominator is zero or not a number). */
export const ratio = (x: number, of: number): number =>
  Number.isFinite(x) && Number.isFinite(of) && of !== 0 ? Math.round((x / of) * 100) / 100 : Number.NaN;

/**
 * CPU used by named processes between `start()` and `stop()`: seconds, percent of one core and, given the
 * trades that went through, CPU-ms per 1,000 trades. A process that is gone at either end counts as NaN.
 */
export function cpuMeter(pids: Readonly<Record<string, number>>) {
  const read = () =>
    Object.fromEntries(Object.entries(pids).map(([n, p]) => [n, cpuSeconds(p) ?? Number.NaN]));
  let t0 = performance.now();
  let c0 = read();
  return {
    start() {
      t0 = performance.now();
      c0 = read();
    },
    stop(trades: number) {
      const elapsedS = (performance.now() - t0) / 1000;
      const c1 = read();
      const out: Record<string, { cpuS: number; percentOfCore: number; msPer1000Trades: number }> = {};
      for (const n of Object.keys(pids)) {
        const cpuS = c1[n]! - c0[n]!;
        out[n] = {
          cpuS: Math.round(cpuS * 100) / 100,
          percentOfCore: Math.round((cpuS / elapsedS) * 100),
          msPer1000Trades: cpuMsPer1000(cpuS, trades),
        };
      }
      return out;
    },
  };
}

/**
 * Socket inodes listening on `port` in a /proc/net/tcp or tcp6 table (state 0A = LISTEN). Pure, for tests.
 */
export function listeningInodes(table: string, port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const local = f[1]!;
    if (f[3] === '0A' && local.slice(local.lastIndexOf(':') + 1).toUpperCase() === hexPort) out.push(f[9]!);
  }
  return out;
}

/** The pid of the local process listening on a TCP port (any address), if this user can see it. */
export function pidListeningOn(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const i of listeningInodes(readFileSync(table, 'utf8'), port)) inodes.add(`socket:[${i}]`);
    } catch {
      // no such table (no IPv6)
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    for (const fd of fds) {
      try {
        if (inodes.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const localPort = (endpoint: string | undefined): number | undefined => {
  const m = endpoint === undefined ? null : /^(.*):(\d+)$/.exec(endpoint);
  return m && LOCAL_HOSTS.has(m[1]!) ? Number(m[2]) : undefined;
};

/**
 * Pids of the runtime's Kafka and Cassandra JVMs: from the runtime's cache dir (MARKET_RUNTIME_DIR: its
 * pid files and a /proc scan), else, for a runtime started elsewhere, the local process listening on the
 * endpoint's port. A remote runtime has no pid here and is left out (the bench says so).
 */
export function runtimePids(endpoints: RuntimeEndpoints): { kafka?: number; cassandra?: number } {
  const out: { kafka?: number; cassandra?: number } = {};
  for (const jvm of liveJvms(runtimePaths(loadRuntimeConfig().cacheDir))) out[jvm.service] = jvm.pid;
  if (out.kafka === undefined) {
    const port = localPort(endpoints.kafka.brokers[0]);
    const pid = port === undefined ? undefined : pidListeningOn(port);
    if (pid !== undefined) out.kafka = pid;
  }
  if (out.cassandra === undefined) {
    const port = localPort(endpoints.cassandra.contactPoints[0]);
    const pid = port === undefined ? undefined : pidListeningOn(port);
    if (pid !== undefined) out.cassandra = pid;
  }
  return out;
}

/** Prints the load average and says loudly when the machine is too busy for comparable numbers. */
export function noteMachineLoad(part: string, log: (line: string) => void = console.log): number {
  const load = loadavg()[0]!;
  log(`[bench] ${part}: load average ${load.toFixed(1)} on ${cpus().length} cores`);
  if (load > cpus().length / 2)
    log(
      `[bench] !!! the machine is busy: CPU and throughput numbers of this ${part} run are not comparable !!!`,
    );
  return load;
}
