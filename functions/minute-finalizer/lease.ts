import { hostname } from 'node:os';
import { pipelineError } from '../../shared/errors.ts';

export interface LeaseStore {
  acquireLease(name: string, holder: string, ttlS: number): Promise<boolean>;
  renewLease(name: string, holder: string, ttlS: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
}

export interface Lease {
  readonly holder: string;
  /** Throws MP_LEASE_LOST once the lease may have passed to someone else: call before every write. */
  assert(): void;
  release(): Promise<void>;
}

export const LEASE_NAME = 'minute-finalizer';

export const leaseHolder = (): string =>
  `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * A lease on one name in Cassandra (LWT, holder column with a TTL): one finalizer run at a time across
 * processes and revisions. It is renewed every third of its TTL while held. The holder trusts it only up to
 * three quarters of the TTL after the last successful (re)newal began, so a holder that was paused (GC,
 * a frozen node) stops writing before another one can take over, as long as clocks tick at similar rates.
 */
export async function acquireLease(
  store: LeaseStore,
  opts: { name?: string; holder: string; ttlS: number; now?: () => number },
): Promise<Lease | null> {
  const name = opts.name ?? LEASE_NAME;
  const now = opts.now ?? Date.now;
  const trustMs = opts.ttlS * 750;
  const asked = now();
  if (!(await store.acquireLease(name, opts.holder, opts.ttlS))) return null;
  let validUntil = asked + trustMs;
  let lost = false;
  const timer = setInterval(
    () => {
      const at = now();
      store
        .renewLease(name, opts.holder, opts.ttlS)
        .then((ok) => {
          if (ok) validUntil = at + trustMs;
          else lost = true;
        })
        // A failed renewal leaves the lease to run out on its own clock.
        .catch(() => undefined);
    },
    Math.max(100, (opts.ttlS * 1000) / 3),
  );
  timer.unref();
  return {
    holder: opts.holder,
    assert() {
      if (lost || now() > validUntil) {
        throw pipelineError('LEASE_LOST', `finalizer lease of ${opts.holder} expired or was taken over`);
      }
    },
    async release() {
      clearInterval(timer);
      if (!lost) await store.releaseLease(name, opts.holder).catch(() => undefined);
    },
  };
}
