import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, readPid, spawnJvm, terminate } from './processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'runtime-processes-'));
const started: number[] = [];
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  rmSync(dir, { recursive: true, force: true });
});

async function gone(pid: number): Promise<void> {
  while (isAlive(pid)) await sleep(50);
}

// `sleep` stands in for the JVM: the watchdog treats whatever command it is given the same way.
describe('watchdog.sh', () => {
  it('stops the child when its owner goes away (stdin pipe closes)', async () => {
    const jvm = await spawnJvm({
      java: 'sleep',
      args: ['300'],
      cwd: dir,
      logFile: join(dir, 'a.log'),
      pidFile: join(dir, 'a.pid'),
      detached: false,
      graceMs: 5000,
    });
    started.push(jvm.pid);
    expect(readPid(join(dir, 'a.pid'))).toBe(jvm.pid);
    expect(isAlive(jvm.pid)).toBe(true);
    // What the kernel does when the owning Node process dies, whatever the way.
    jvm.supervisor.stdin?.end();
    await gone(jvm.pid);
    expect(await jvm.exited).not.toBe(0);
  });

  it('leaves a detached child running until it is terminated', async () => {
    const jvm = await spawnJvm({
      java: 'sleep',
      args: ['300'],
      cwd: dir,
      logFile: join(dir, 'b.log'),
      pidFile: join(dir, 'b.pid'),
      detached: true,
      graceMs: 5000,
    });
    started.push(jvm.pid);
    // The watchdog of an attached child would already be acting on EOF from /dev/null by now.
    await sleep(300);
    expect(isAlive(jvm.pid)).toBe(true);
    expect(await terminate(jvm.pid, 5000)).toBe('stopped');
    await jvm.exited;
  });

  it('kills the child after the grace period when SIGTERM is ignored', async () => {
    const stubborn = spawn('sh', ['-c', "trap '' TERM; exec sleep 300"], { stdio: 'ignore' });
    const pid = stubborn.pid!;
    started.push(pid);
    const exited = new Promise((r) => stubborn.once('exit', r));
    // Give the shell time to install the trap and exec; `terminate` must still cope if it has not.
    await sleep(200);
    expect(await terminate(pid, 500)).toBe('killed');
    await exited;
    expect(isAlive(pid)).toBe(false);
  });
});
