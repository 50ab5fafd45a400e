/**
 * Exponential backoff with "equal jitter": the n-th delay is uniformly drawn from [d/2, d] where
 * d = min(maxMs, initialMs · factor^n). Half of the delay is guaranteed (no hammering after an outage), half is
 * random (a fleet of bridges does not reconnect in lockstep).
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

  get attempts(): number {
    return this.attempt;
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
