/**
 * The one retry/backoff policy of the project. Exponential backoff with "equal jitter": the n-th delay is
 * uniformly drawn from [d/2, d] where d = min(maxMs, initialMs · factor^n). Half of the delay is guaranteed
 * (no hammering after an outage), half is random (a fleet of processes does not retry in lockstep).
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
}

export class Backoff {
  private attempt = 0;
  constructor(
    private readonly opts: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next delay; each call grows the ceiling until `maxMs`. */
  next(): number {
    const factor = this.opts.factor ?? 2;
    const ceiling = Math.min(this.opts.maxMs, this.opts.initialMs * factor ** this.attempt);
    if (ceiling < this.opts.maxMs) this.attempt++;
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  /** Longest delay, still jittered (used after an auth refusal). */
  max(): number {
    return Math.round(this.opts.maxMs / 2 + this.random() * (this.opts.maxMs / 2));
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Parses an HTTP Retry-After header (seconds or HTTP date) into milliseconds, or undefined. */
export function retryAfterMs(header: string | string[] | undefined, nowMs = Date.now()): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - nowMs) : undefined;
}

/**
 * How `npm start` restarts a process that died (a service or a runtime JVM), like Kubernetes' CrashLoopBackOff
 * scaled to a laptop: 1 s doubling to 30 s; a process that stayed up for RESTART_STABLE_MS starts over at 1 s.
 */
export const RESTART_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 30_000 };
export const RESTART_STABLE_MS = 60_000;

/** How a process's dependency (Cassandra, Kafka) is retried while it starts: 250 ms doubling to 5 s. */
export const CONNECT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 5_000 };

export interface ConnectOptions {
  /** Stop retrying once this returns true (the process is shutting down). */
  readonly stopped: () => boolean;
  /** Called after each failed attempt, with the error and the wait before the next one. */
  readonly onRetry?: (attempt: number, err: Error, waitMs: number) => void;
  readonly backoff?: BackoffOptions;
}

/**
 * Runs `connect` until it succeeds or `stopped()` turns true; resolves with the number of attempts made, or
 * undefined when stopped first. The one connect-with-retry of the processes: readiness stays false meanwhile.
 */
export async function connectWithRetry(
  connect: () => Promise<unknown>,
  opts: ConnectOptions,
): Promise<number | undefined> {
  const backoff = new Backoff(opts.backoff ?? CONNECT_BACKOFF);
  for (let attempt = 1; !opts.stopped(); attempt += 1) {
    try {
      await connect();
      return attempt;
    } catch (err) {
      const wait = backoff.next();
      opts.onRetry?.(attempt, err as Error, wait);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  return undefined;
}
