/** One thing to stop, in the order given: usually stop taking work, drain, then close the clients. */
export interface ShutdownStep {
  readonly name: string;
  run(): unknown;
}

/** The two log levels a shutdown writes (a pino logger fits). */
export interface ShutdownLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  /** Calls back once buffered lines are written (pino's `flush(cb)`), so the last lines survive the exit. */
  flush?(cb: (err?: Error) => void): void;
}

/** The parts of `process` the helper touches (tests pass their own). */
export interface ShutdownProcess {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  exit(code: number): void;
}

export interface ShutdownOptions {
  readonly steps: readonly ShutdownStep[];
  /** Longest the steps may take together; then the process exits with code 1 whatever is still running. */
  readonly graceMs: number;
  readonly log?: ShutdownLog;
  /** Default SIGTERM (Kubernetes, `kill`) and SIGINT (Ctrl-C). */
  readonly signals?: readonly NodeJS.Signals[];
  readonly process?: ShutdownProcess;
}

export interface Shutdown {
  /**
   * Runs the steps once (later calls share the first run) and resolves with the exit code it earned: 0, or 1
   * if a step failed or the grace period ran out. A failed step is logged and the next ones still run.
   */
  stop(reason: string): Promise<number>;
  /** `stop`, then exits the process with its code, or with `code` when that is higher (a crash). */
  exit(reason: string, code?: number): Promise<void>;
}

/**
 * The graceful shutdown every long-lived process uses: on SIGTERM/SIGINT the steps run in order, bounded by
 * the grace period, and the process exits 0 when all of them finished cleanly, 1 otherwise.
 */
export function gracefulShutdown(opts: ShutdownOptions): Shutdown {
  const proc = opts.process ?? process;
  const log = opts.log;
  let running: Promise<number> | undefined;

  const runSteps = async (): Promise<number> => {
    let code = 0;
    for (const step of opts.steps) {
      try {
        await step.run();
      } catch (err) {
        code = 1;
        log?.error({ step: step.name, err }, 'shutdown step failed');
      }
    }
    return code;
  };

  const stop = (reason: string): Promise<number> => {
    running ??= (async () => {
      log?.info({ reason, graceMs: opts.graceMs }, 'stopping');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<number>((resolve) => {
        timer = setTimeout(() => {
          log?.error({ graceMs: opts.graceMs }, 'shutdown grace period ran out; exiting anyway');
          resolve(1);
        }, opts.graceMs);
        timer.unref();
      });
      const code = await Promise.race([runSteps(), timedOut]);
      clearTimeout(timer);
      if (code === 0) log?.info({ reason }, 'stopped');
      return code;
    })();
    return running;
  };

  const exit = async (reason: string, code = 0): Promise<void> => {
    const stopped = await stop(reason);
    const flush = log?.flush?.bind(log);
    if (flush) {
      // Bounded: a stuck stdout must not keep the process alive.
      await new Promise<void>((resolve) => {
        setTimeout(resolve, 1_000).unref();
        flush(() => resolve());
      });
    }
    proc.exit(Math.max(code, stopped));
  };

  // `on`, not `once`: a second signal while stopping joins the running shutdown instead of killing the process
  // with its default action halfway through a flush.
  for (const signal of opts.signals ?? (['SIGTERM', 'SIGINT'] as const)) {
    proc.on(signal, () => void exit(signal));
  }
  return { stop, exit };
}
