import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { CASSANDRA_IDLE_THREADS } from './cassandra.ts';
import { findJava } from './preflight.ts';
import { isAlive, readPid, type SpawnJvmOptions, spawnJvm, terminate } from './processes.ts';

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

describe('watchdog.sh idle threads', () => {
  /** nice value of each of a process's threads, by thread name. */
  function niceByThread(pid: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        // Fields after the name: state is field 3, nice is field 19.
        out.set(name, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
      } catch {
        // The thread ended between listing and reading.
      }
    }
    return out;
  }

  /**
   * A JVM under the watchdog, as the runtime starts Cassandra, that starts a thread of each given name half a
   * second in (as Cassandra's pools start theirs after the JVM) and then sleeps.
   */
  async function poolJvm(name: string, threads: string[], extra: Partial<SpawnJvmOptions>) {
    const src = join(dir, 'Pool.java');
    writeFileSync(
      src,
      `public class Pool { public static void main(String[] a) throws Exception {
        Thread.sleep(500);
        for (String n : a) {
          Thread t = new Thread(() -> { try { Thread.sleep(300_000); } catch (InterruptedException e) {} }, n);
          t.setDaemon(true);
          t.start();
        }
        Thread.sleep(300_000);
      } }`,
    );
    const jvm = await spawnJvm({
      java: findJava({ env: process.env }).bin,
      args: [src, ...threads],
      cwd: dir,
      logFile: join(dir, `${name}.log`),
      pidFile: join(dir, `${name}.pid`),
      detached: false,
      graceMs: 5000,
      ...extra,
    });
    started.push(jvm.pid);
    return jvm;
  }

  it('runs the threads matching WATCHDOG_IDLE_THREADS (compaction, JIT) at nice 19 and leaves the others alone', async () => {
    // A thread named like Cassandra's compaction pool, started after the JVM (as pool threads are).
    const jvm = await poolJvm('idle', ['CompactionExecutor:1', 'Native-Transport-Requests-1'], {
      idleThreads: CASSANDRA_IDLE_THREADS,
    });
    let nice = niceByThread(jvm.pid);
    for (let i = 0; i < 200 && nice.get('CompactionExecu') !== 19; i++) {
      await sleep(100);
      nice = niceByThread(jvm.pid);
    }
    expect(nice.get('CompactionExecu')).toBe(19);
    // The JVM's own JIT compiler threads, also in the pattern.
    for (let i = 0; i < 50 && nice.get('C2 CompilerThre') !== 19; i++) {
      await sleep(100);
      nice = niceByThread(jvm.pid);
    }
    expect(nice.get('C2 CompilerThre')).toBe(19);
    expect(nice.get('Native-Transpor')).toBe(0);
    expect(nice.get('java')).toBe(0);
    jvm.supervisor.stdin?.end();
    await gone(jvm.pid);
  }, 30_000);
  it('starts the JVM with WATCHDOG_TIMER_SLACK_NS, which every thread it makes inherits; without it, the default', async () => {
    const slackByThread = (pid: number) =>
      new Map(
        readdirSync(`/proc/${pid}/task`).map((tid) => [
          readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(),
          Number(readFileSync(`/proc/${tid}/timerslack_ns`, 'utf8')),
        ]),
      );
    const run = async (name: string, timerSlackNs?: number) => {
      const jvm = await poolJvm(
        name,
        ['Native-Transport-Requests-1'],
        timerSlackNs === undefined ? {} : { timerSlackNs },
      );
      let slack = slackByThread(jvm.pid);
      for (let i = 0; i < 200 && !slack.has('Native-Transpor'); i++) {
        await sleep(100);
        slack = slackByThread(jvm.pid);
      }
      jvm.supervisor.stdin?.end();
      await gone(jvm.pid);
      return slack;
    };
    const own = Number(readFileSync('/proc/self/timerslack_ns', 'utf8'));
    const slack = await run('slack', 1_000_000);
    // The JVM's own threads (GC, JIT, main) and one it started later, as Cassandra's pools do.
    expect(slack.get('Native-Transpor')).toBe(1_000_000);
    expect(slack.size).toBeGreaterThan(5);
    expect(new Set(slack.values())).toEqual(new Set([1_000_000]));
    expect(new Set((await run('default')).values())).toEqual(new Set([own]));
  }, 60_000);
});
