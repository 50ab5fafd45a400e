import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { EPHEMERAL_FIRST, freePort, freePortRun, STABLE_FIRST } from './ports.ts';

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

describe('freePortRun', () => {
  it('returns a run of free ports below the ephemeral range', async () => {
    const base = await freePortRun(6);
    expect(base).toBeGreaterThanOrEqual(STABLE_FIRST);
    expect(base + 5).toBeLessThan(EPHEMERAL_FIRST);
  });

  it('freePort, for servers that child processes bind later, is below the ephemeral range too', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThanOrEqual(STABLE_FIRST);
    expect(port).toBeLessThan(EPHEMERAL_FIRST);
  });

  it('skips a base whose run holds a taken port', async () => {
    const taken = await freePortRun(1);
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((r) => blocker.listen(taken + 1, '127.0.0.1', () => r()));
    // The first draw lands on `taken` (or one below, by rounding): its run of 3 holds the blocked port.
    const draws = [(taken - STABLE_FIRST) / (EPHEMERAL_FIRST - STABLE_FIRST - 3), 0.5];
    let i = 0;
    const base = await freePortRun(3, () => draws[Math.min(i++, 1)] as number);
    expect(i).toBe(2);
    expect(base).not.toBe(taken);
  });
});
