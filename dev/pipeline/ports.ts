import { createServer } from 'node:net';

/**
 * A port that was free a moment ago on 127.0.0.1, for a server that a child process (a service, a JVM, a
 * container) binds later: below the ephemeral range, like every run from freePortRun.
 */
export function freePort(): Promise<number> {
  return freePortRun(1);
}

/** Fails with a one-line cause and fix when a fixed port is taken. */
export function assertPortFree(port: number, what: string, envName: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `port ${port} (${what}) is already in use: stop whatever listens there (\`ss -ltnp | grep :${port}\`) or set ${envName} to a free port`
            : `cannot listen on port ${port} (${what}): ${err.message}`,
        ),
      ),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}

/**
 * The first of `n` consecutive ports that were all free a moment ago (e.g. for LOCAL_PORT_BASE), chosen below
 * Linux's ephemeral range (32768-60999). A port up there is also where every outgoing connection takes its
 * local port, so one that was free when probed can be taken before a child process binds it (CI: "listen
 * EADDRINUSE 127.0.0.1:34068" for the dispatcher of an npm start test, restarted until it gave up).
 */
export async function freePortRun(n: number, random: () => number = Math.random): Promise<number> {
  for (let tries = 0; ; tries++) {
    if (tries > 1_000) throw new Error(`no run of ${n} free ports below ${EPHEMERAL_FIRST}`);
    const base = STABLE_FIRST + Math.floor(random() * (EPHEMERAL_FIRST - STABLE_FIRST - n));
    try {
      for (let i = 0; i < n; i++) await assertPortFree(base + i, 'probe', 'probe');
      return base;
    } catch {
      // one of them is taken: try another base
    }
  }
}

/** Where freePortRun looks: above the well-known and registered ports most services use, below ephemeral. */
export const STABLE_FIRST = 20_000;
export const EPHEMERAL_FIRST = 32_768;
