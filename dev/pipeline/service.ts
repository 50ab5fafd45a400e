import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Backoff, RESTART_BACKOFF, RESTART_STABLE_MS } from '../../shared/retry/backoff.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const guard = resolve(repoRoot, 'dev/pipeline/exit-with-parent.ts');

export interface ServiceSpec {
  readonly name: string;
  /** Entry point relative to the repo root, run with `node --import tsx`. */
  readonly entry: string;
  readonly env: Readonly<Record<string, string>>;
  readonly args?: readonly string[];
  /** Health base URL (GET `${url}/readyz` answers 200 when ready). */
  readonly url: string;
}

/** What the supervisor tells its owner: a crash (and the wait before the restart) and each restart. */
export type ServiceEvent =
  | { kind: 'exited'; service: string; code: number | null; signal: string | null; restartInMs: number }
  | { kind: 'restarted'; service: string; pid: number | undefined; restarts: number };

/**
 * One child process of the local stack, logging to `logFile`. A process that exits without being asked to
 * (crash, SIGKILL, OOM) is started again after a backoff, as the kubelet restarts a pod's container.
 */
export class Service {
  private child: ChildProcess | undefined;
  private log: WriteStream;
  private exited: Promise<number | null> = Promise.resolve(null);
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private lastExit: number | null | undefined;
  private readonly backoff = new Backoff(RESTART_BACKOFF);
  restarts = 0;

  constructor(
    readonly spec: ServiceSpec,
    readonly logFile: string,
    private readonly onEvent: (e: ServiceEvent) => void = () => {},
  ) {
    mkdirSync(dirname(logFile), { recursive: true });
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    this.stopping = false;
    this.startedAt = Date.now();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', guard, resolve(repoRoot, this.spec.entry), ...(this.spec.args ?? [])],
      {
        cwd: repoRoot,
        env: { ...process.env, ...this.spec.env, MP_EXIT_WITH_PARENT: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.exited = new Promise((r) =>
      child.once('exit', (code, signal) => {
        r(code);
        this.lastExit = code;
        if (!this.stopping) this.crashed(code, signal);
      }),
    );
    this.child = child;
  }

  private crashed(code: number | null, signal: NodeJS.Signals | null): void {
    if (Date.now() - this.startedAt >= RESTART_STABLE_MS) this.backoff.reset();
    const wait = this.backoff.next();
    const how = signal ? `signal ${signal}` : `code ${code}`;
    this.log.write(
      `${JSON.stringify({ level: 40, time: Date.now(), service: 'supervisor', msg: `${this.spec.name} exited (${how}); restarting in ${wait} ms` })}\n`,
    );
    this.onEvent({ kind: 'exited', service: this.spec.name, code, signal, restartInMs: wait });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts += 1;
      this.start();
      this.onEvent({ kind: 'restarted', service: this.spec.name, pid: this.pid, restarts: this.restarts });
    }, wait);
  }

  /** Polls `/readyz` until it answers 200; fails early if the process exits. */
  async waitReady(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      // Exit code 2 is a configuration error (shared/host loadOrExit): restarting cannot fix it.
      if (!this.running && (!this.restartTimer || this.lastExit === 2))
        throw new Error(`${this.spec.name} exited before it was ready; see ${this.logFile}`);
      try {
        const res = await fetch(`${this.spec.url}/readyz`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${this.spec.name} not ready after ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** Sends a signal and waits for the exit (SIGKILL after `graceMs` if it lingers); no restart follows. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000): Promise<number | null> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (!child || !this.running) return child?.exitCode ?? null;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** A deliberate restart (as a rollout would do it): stop, start, wait until ready. */
  async restart(): Promise<void> {
    await this.stop();
    this.restarts += 1;
    this.start();
    await this.waitReady();
  }

  closeLog(): void {
    this.log.end();
  }
}
