import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKeyspace, type TestKeyspace } from '../test/cassandra.ts';
import { readPools, WATCHED_POOLS, watchPools } from './cassandra-work.ts';

let ks: TestKeyspace;
beforeAll(async () => {
  ks = await createTestKeyspace('mp_bench_work');
});
afterAll(async () => ks?.drop());

describe("Cassandra's background pools (system_views.thread_pools on the real node)", () => {
  it('has a row for every watched pool with numeric active and completed tasks', async () => {
    const samples = await readPools(ks.client);
    expect(samples.map((x) => x.pool).sort()).toEqual([...WATCHED_POOLS].sort());
    for (const x of samples) {
      expect(Number.isInteger(x.active) && x.active >= 0).toBe(true);
      expect(Number.isInteger(x.completed) && x.completed >= 0).toBe(true);
    }
  });

  it('a watch reads every second until stopped and reports each pool', async () => {
    const watch = watchPools(ks.client, 200);
    await new Promise((r) => setTimeout(r, 700));
    const work = await watch.stop();
    for (const pool of WATCHED_POOLS) {
      expect(work[pool].completed).toBeGreaterThanOrEqual(0);
      expect(Array.isArray(work[pool].busySeconds)).toBe(true);
    }
    // One read at the start, one per 200 ms and one at the stop.
    expect(work.reads).toBeGreaterThanOrEqual(4);
    expect(work).not.toHaveProperty('failedReads');
  });
});
