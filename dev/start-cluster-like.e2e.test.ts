/**
 * `npm start` behaves like its cluster (issue 13, point 3), against the test run's Kafka and Cassandra:
 * - every documented setting reaches every process that needs it (one start with all of them changed, each
 *   process's own start log checked per setting, and trades flowing through the changed topic and keyspace);
 * - a clean start logs no error-level line;
 * - a service killed with SIGKILL is restarted with backoff, and the status block counts the restart;
 * - SIGTERM to the `npm start` process itself (not its group) leaves no process behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePortRun } from './pipeline/ports.ts';
import { alive, descendants } from './pipeline/process-tree.ts';
import { repoRoot } from './pipeline/service.ts';
import { SERVICE_ENTRIES, SERVICE_ORDER, type ServiceName } from './pipeline/stack.ts';
import { killTree } from './start-test-env.ts';

type Name = ServiceName;
const SERVICES = SERVICE_ORDER;
const ENTRY = SERVICE_ENTRIES;

const run = `s${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const workDir = mkdtempSync(join(tmpdir(), 'mp-start-settings-'));
let child: ChildProcess | undefined;
let output = '';

afterAll(() => killTree(child));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}\n--- npm start output:\n${output}`);
    await sleep(250);
  }
}
const status = async (url: string) => {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 0;
  }
};
const logOf = (name: Name) => {
  const file = join(workDir, 'logs', `${name}.log`);
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
};
/** The `settings` a process reported in its start line (shared/config loadedSettings). */
function settingsOf(name: Name): Record<string, string> {
  for (const line of logOf(name).split('\n')) {
    if (!line.includes('"settings"')) continue;
    return (JSON.parse(line) as { settings: Record<string, string> }).settings;
  }
  throw new Error(`${name} logged no settings line; log:\n${logOf(name)}`);
}
const pidOf = (name: Name) =>
  descendants(child!.pid!).find((p) => {
    try {
      const [entry, ...args] = ENTRY[name];
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').endsWith(
        `${[join(repoRoot, entry), ...args].join('\0')}\0`,
      );
    } catch {
      return false;
    }
  });

describe('npm start, like its cluster', () => {
  it('passes every setting to every process, restarts killed services, and SIGTERM leaves nothing', async () => {
    const base = await freePortRun(6);
    const viewerPort = await freePortRun(1);
    const symbols = [`TEST:${run.toUpperCase()}A`, `TEST:${run.toUpperCase()}B`];
    const settings = {
      LOCAL_PORT_BASE: String(base),
      VIEWER_PORT: String(viewerPort),
      CASSANDRA_KEYSPACE: `start_${run}`,
      KAFKA_TOPIC: `start-${run}`,
      FINNHUB_SYMBOLS: symbols.join(','),
      LOCAL_WORK_DIR: workDir,
    };
    child = spawn('npm', ['start', '--silent'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...settings,
        MARKET_RUNTIME: 'external',
        MARKET_RUNTIME_KAFKA_BROKERS: inject('kafkaBrokers').join(','),
        MARKET_RUNTIME_CASSANDRA_CONTACT_POINTS: inject('cassandraContactPoints').join(','),
        MARKET_RUNTIME_CASSANDRA_DC: inject('cassandraLocalDataCenter'),
        REPLAY_TRADES_PER_SECOND: '50',
        LOG_LEVEL: 'info',
      },
    });
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });
    await until('the status block', () => output.includes('market pipeline is running'), 240_000);

    // Each documented setting, and how each process that needs it shows it took it.
    const port = (i: number) => String(base + i);
    const table: [setting: keyof typeof settings, process: Name, variable: string, expected: string][] = [
      ['LOCAL_PORT_BASE', 'trade-writer', 'PORT', port(0)],
      ['LOCAL_PORT_BASE', 'minute-window', 'PORT', port(1)],
      ['LOCAL_PORT_BASE', 'minute-finalizer', 'PORT', port(2)],
      ['LOCAL_PORT_BASE', 'dispatcher', 'DISPATCHER_PORT', port(3)],
      ['LOCAL_PORT_BASE', 'bridge', 'BRIDGE_HTTP_PORT', port(4)],
      ['LOCAL_PORT_BASE', 'replay-feed', 'REPLAY_PORT', port(5)],
      ['LOCAL_PORT_BASE', 'bridge', 'FINNHUB_URL', `ws://127.0.0.1:${port(5)}`],
      ['LOCAL_PORT_BASE', 'viewer', 'VIEWER_SCRAPE_URLS', `http://127.0.0.1:${port(4)}/metrics`],
      ['LOCAL_PORT_BASE', 'dispatcher', 'DISPATCHER_SINKS', `trade-writer=http://127.0.0.1:${port(0)}`],
      ['VIEWER_PORT', 'viewer', 'VIEWER_PORT', settings.VIEWER_PORT],
      ['CASSANDRA_KEYSPACE', 'trade-writer', 'CASSANDRA_KEYSPACE', settings.CASSANDRA_KEYSPACE],
      ['CASSANDRA_KEYSPACE', 'minute-window', 'CASSANDRA_KEYSPACE', settings.CASSANDRA_KEYSPACE],
      ['CASSANDRA_KEYSPACE', 'minute-finalizer', 'CASSANDRA_KEYSPACE', settings.CASSANDRA_KEYSPACE],
      ['CASSANDRA_KEYSPACE', 'viewer', 'CASSANDRA_KEYSPACE', settings.CASSANDRA_KEYSPACE],
      ['KAFKA_TOPIC', 'bridge', 'KAFKA_TOPIC', settings.KAFKA_TOPIC],
      ['KAFKA_TOPIC', 'dispatcher', 'DISPATCHER_TOPICS', `market=${settings.KAFKA_TOPIC}`],
      [
        'KAFKA_TOPIC',
        'dispatcher',
        'DISPATCHER_TOPICS',
        `market-dead-letters=${settings.KAFKA_TOPIC}-dead-letters`,
      ],
      ['FINNHUB_SYMBOLS', 'bridge', 'FINNHUB_SYMBOLS', settings.FINNHUB_SYMBOLS],
      ['LOCAL_WORK_DIR', 'bridge', 'BRIDGE_SPOOL_DIR', join(workDir, 'bridge-spool')],
    ];
    const seen = Object.fromEntries(SERVICES.map((n) => [n, settingsOf(n)])) as Record<
      Name,
      Record<string, string>
    >;
    const misses = table
      .filter(([, proc, variable, expected]) => !(seen[proc][variable] ?? '').includes(expected))
      .map(
        ([setting, proc, variable, expected]) =>
          `${setting}: ${proc} has ${variable}=${seen[proc][variable]}, wants ${expected}`,
      );
    expect(misses).toEqual([]);
    // LOCAL_WORK_DIR holds every log; the ports answer.
    for (const n of SERVICES) expect(logOf(n), n).not.toBe('');
    const urls: Record<Name, string> = {
      'trade-writer': `http://127.0.0.1:${port(0)}`,
      'minute-window': `http://127.0.0.1:${port(1)}`,
      'minute-finalizer': `http://127.0.0.1:${port(2)}`,
      dispatcher: `http://127.0.0.1:${port(3)}`,
      bridge: `http://127.0.0.1:${port(4)}`,
      'replay-feed': `http://127.0.0.1:${port(5)}`,
      viewer: `http://127.0.0.1:${viewerPort}`,
    };
    for (const n of SERVICES)
      await until(
        `${n} /readyz on its port`,
        async () => (await status(`${urls[n]}/readyz`)) === 200,
        30_000,
      );

    // The settings work together: replayed trades of the configured symbol go through the configured topic
    // (bridge -> dispatcher) into the configured keyspace (trade-writer), where the viewer reads them.
    await until('trades of the configured symbol in the viewer', async () => {
      const res = await fetch(`${urls.viewer}/api/view?symbol=${encodeURIComponent(symbols[0]!)}`);
      const view = (await res.json()) as { panels: { price: { rows: unknown[] } } };
      return view.panels.price.rows.length > 0;
    });

    // A clean start logs no error-level line, in any process or in npm start's own output.
    const errorLines = [output, ...SERVICES.map(logOf)]
      .flatMap((t) => t.split('\n'))
      .filter((l) => /"level":(50|60|"error"|"fatal")/.test(l));
    expect(errorLines).toEqual([]);

    // SIGKILL of each service (all at once: restarts run side by side, as pods would): each is restarted
    // with backoff by the supervisor, on the same port.
    const killed = new Map(SERVICES.map((n) => [n, pidOf(n)]));
    for (const [n, pid] of killed) {
      expect(pid, `${n} pid`).toBeDefined();
      process.kill(pid!, 'SIGKILL');
    }
    const k0 = Date.now();
    for (const n of SERVICES) {
      await until(`${n} restarted`, () => output.includes(`[start] ${n} restarted (restart 1`));
      await until(`${n} ready again`, () => output.includes(`[start] ${n} ready again`), 180_000);
      await until(
        `${n} /readyz on its port`,
        async () => (await status(`${urls[n]}/readyz`)) === 200,
        30_000,
      );
      expect(pidOf(n)).not.toBe(killed.get(n));
    }
    process.stderr.write(
      `[start] every service SIGKILLed; all ready again after ${((Date.now() - k0) / 1000).toFixed(1)} s\n`,
    );
    expect(output).toContain('[start] bridge exited (signal SIGKILL); restarting in');
    const lastStatus = output.slice(output.lastIndexOf('market pipeline is running'));
    for (const n of SERVICES)
      expect(lastStatus).toMatch(new RegExp(`${n === 'replay-feed' ? 'replay feed' : `${n} `}.*restarts: 1`));
    expect(logOf('bridge')).toContain('bridge exited (signal SIGKILL); restarting in');

    // SIGTERM to the npm process alone (as a process manager or `kill <pid>` sends it).
    const tree = descendants(child.pid!);
    expect(tree.length).toBeGreaterThanOrEqual(6);
    process.kill(child.pid!, 'SIGTERM');
    await until('npm start to exit', () => child!.exitCode !== null || child!.signalCode !== null, 60_000);
    await until('every process it started to end', () => !tree.some(alive), 60_000).catch(() => {});
    expect(tree.filter(alive), 'processes left behind').toEqual([]);
  }, 600_000);
});
