import { createServer } from 'node:net';

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
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

/** The first of `n` consecutive ports that were all free a moment ago (e.g. for LOCAL_PORT_BASE). */
export async function freePortRun(n: number): Promise<number> {
  for (;;) {
    const base = await freePort();
    if (base + n - 1 > 65_000) continue;
    try {
      for (let i = 1; i < n; i++) await assertPortFree(base + i, 'probe', 'probe');
      return base;
    } catch {
      // one of them is taken: try another base
    }
  }
}
