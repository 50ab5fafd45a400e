import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** One child process of the local stack, restartable, logging to `<logDir>/<name>.log`. */
export class Service {
  private child: ChildProcess | undefined;
  private log: WriteStream;
  private exited: Promise<number | null> = Promise.resolve(null);
  restarts = 0;

  constructor(
    readonly spec: ServiceSpec,
    readonly logFile: string,
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
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
    this.child = child;
  }

  /** Polls `/readyz` until it answers 200; fails early if the process exits. */
  async waitReady(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.spec.name} exited before it was ready; see ${this.logFile}`);
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

  /** Sends a signal and waits for the exit (SIGKILL after `graceMs` if it lingers). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return child?.exitCode ?? null;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

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
