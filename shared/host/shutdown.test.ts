import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { gracefulShutdown, type ShutdownProcess } from './shutdown.ts';

class FakeProcess extends EventEmitter implements ShutdownProcess {
  readonly exits: number[] = [];
  private resolveExit: (code: number) => void = () => {};
  readonly exited = new Promise<number>((resolve) => {
    this.resolveExit = resolve;
  });
  exit(code: number): void {
    this.exits.push(code);
    this.resolveExit(code);
  }
  override on(signal: NodeJS.Signals, listener: () => void): this {
    return super.on(signal, listener);
  }
}

const quietLog = () => ({
  info: vi.fn(),
  error: vi.fn(),
  flush: vi.fn((cb: () => void) => cb()),
});

/** A shutdown over a fake process whose steps record their names in `order` (or throw, when `fails`). */
function setup(fails?: string) {
  const proc = new FakeProcess();
  const order: string[] = [];
  const log = quietLog();
  const step = (name: string) => ({
    name,
    run: async () => {
      if (name === fails) throw new Error(`${name} broke`);
      order.push(name);
    },
  });
  gracefulShutdown({ process: proc, log, graceMs: 60_000, steps: [step('server'), step('client')] });
  return { proc, order, log };
}

describe('gracefulShutdown', () => {
  it('on SIGTERM runs the steps in order, once, and exits 0', async () => {
    const { proc, order, log } = setup();
    proc.emit('SIGTERM');
    proc.emit('SIGINT'); // a second signal joins the first shutdown
    expect(await proc.exited).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['server', 'client']);
    expect(proc.exits).toEqual([0, 0]);
    expect(log.flush).toHaveBeenCalled();
  });

  it('a failing step is logged, the next steps still run, and the exit code is 1', async () => {
    const { proc, order, log } = setup('server');
    proc.emit('SIGINT');
    expect(await proc.exited).toBe(1);
    expect(order).toEqual(['client']);
    expect(log.error).toHaveBeenCalledWith(
      expect.objectContaining({ step: 'server' }),
      'shutdown step failed',
    );
  });

  it('exits 1 when the steps outlast the grace period', async () => {
    vi.useFakeTimers();
    try {
      const proc = new FakeProcess();
      const log = quietLog();
      const s = gracefulShutdown({
        process: proc,
        log,
        graceMs: 5_000,
        steps: [{ name: 'stuck', run: () => new Promise(() => {}) }],
      });
      const code = s.stop('test');
      await vi.advanceTimersByTimeAsync(5_000);
      expect(await code).toBe(1);
      expect(log.error).toHaveBeenCalledWith({ graceMs: 5_000 }, expect.stringContaining('grace period'));
    } finally {
      vi.useRealTimers();
    }
  });

  it('exit(reason, code) keeps a crash code even when the steps succeed', async () => {
    const proc = new FakeProcess();
    const s = gracefulShutdown({ process: proc, graceMs: 1_000, steps: [] });
    await s.exit('uncaughtException', 1);
    expect(proc.exits).toEqual([1]);
  });

  it('stops a real process on SIGTERM: steps in order, then exit code 0', async () => {
    const script = fileURLToPath(new URL('../../test/fixtures/shutdown-child.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(out.trim().split('\n')).toEqual(['ready', 'step server', 'step client']);
    expect(code).toBe(0);
  });
});
