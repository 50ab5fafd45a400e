/**
 * `npm start` as a newcomer runs it: its own Kafka and Cassandra (a fresh runtime dir, the jar cache shared),
 * the schema, every service and the viewer; trades reach the viewer; SIGTERM to the `npm start` process
 * leaves no process behind, JVMs included.
 * Also: a taken port is refused with one line that says what to do.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, freePortRun } from './pipeline/ports.ts';
import { alive, descendants } from './pipeline/process-tree.ts';
import { repoRoot } from './pipeline/service.ts';
import { loadRuntimeConfig } from './runtime/config.ts';
import { privateRuntimeEnv } from './start-test-env.ts';

const home = mkdtempSync(join(tmpdir(), 'mp-start-'));
const jars = resolve(repoRoot, loadRuntimeConfig().cacheDir, 'jars');
let child: ChildProcess | undefined;
let output = '';

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

async function env(): Promise<Record<string, string>> {
  const runtimeDir = join(home, 'runtime');
  mkdirSync(runtimeDir, { recursive: true });
  symlinkSync(jars, join(runtimeDir, 'jars'));
  const base = await freePortRun(11);
  return {
    ...(await privateRuntimeEnv(runtimeDir)),
    LOCAL_PORT_BASE: String(base),
    VIEWER_PORT: String(base + 10),
    LOCAL_WORK_DIR: join(home, 'local'),
    REPLAY_TRADES_PER_SECOND: '200',
    LOG_LEVEL: 'warn',
  };
}

describe('npm start', () => {
  it('refuses a taken port with one line naming the fix', async () => {
    const blocker: Server = createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    const run = spawn(process.execPath, ['--import', 'tsx', 'dev/start.ts'], {
      cwd: repoRoot,
      env: { ...process.env, LOCAL_PORT_BASE: String(port) },
    });
    let err = '';
    run.stderr.on('data', (d) => {
      err += d;
    });
    const code = await new Promise((r) => run.once('exit', r));
    blocker.close();
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toContain(`port ${port} (trade-writer) is already in use`);
    expect(err).toContain('LOCAL_PORT_BASE');
  });

  it('brings the pipeline up, shows trades in the viewer, and SIGTERM to npm leaves nothing running', async () => {
    const e = await env();
    const t0 = Date.now();
    child = spawn('npm', ['start', '--silent'], {
      cwd: repoRoot,
      env: { ...process.env, ...e },
    });
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });
    const deadline = Date.now() + 240_000;
    while (!output.includes('market pipeline is running')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`start failed:\n${output}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const upS = (Date.now() - t0) / 1000;
    const viewer = `http://127.0.0.1:${e.VIEWER_PORT}`;
    expect(output).toContain(`${viewer}/`);

    let ticks = 0;
    while (ticks === 0) {
      if (Date.now() > deadline) throw new Error('no trades reached the viewer');
      const view = (await fetch(`${viewer}/api/view?symbol=BINANCE:BTCUSDT`).then((r) => r.json())) as {
        panels: { price: { rows: unknown[] } };
      };
      ticks = view.panels.price.rows.length;
      if (ticks === 0) await new Promise((r) => setTimeout(r, 1000));
    }
    process.stderr.write(
      `[start] up in ${upS.toFixed(1)} s; first trades in the viewer after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );

    const tree = descendants(child.pid!);
    expect(tree.length).toBeGreaterThanOrEqual(8); // 6 services + 2 JVMs (+ their watchdog shells)
    // To the npm process only, as a process manager or `kill <pid>` does (Ctrl-C would reach the whole group).
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    const deadline2 = Date.now() + 30_000;
    while (tree.some(alive) && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 250));
    expect(tree.filter(alive), 'processes left behind').toEqual([]);
  }, 420_000);
});
