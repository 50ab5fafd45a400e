import { describe, expect, it } from 'vitest';
import { type PoolSample, summarizePools } from './cassandra-work.ts';

const T0 = Date.UTC(2026, 11, 3, 17, 8, 46);
const s = (sec: number, pool: PoolSample['pool'], active: number, completed: number): PoolSample => ({
  at: T0 + sec * 1000,
  pool,
  active,
  completed,
});

describe('summarizePools', () => {
  it('gives the seconds a flush ran and the tasks finished over the reads, per pool', () => {
    const samples = [
      s(0, 'MemtableFlushWriter', 0, 7),
      s(0, 'CompactionExecutor', 0, 40),
      s(1, 'MemtableFlushWriter', 1, 7),
      s(2, 'MemtableFlushWriter', 1, 7),
      s(3, 'MemtableFlushWriter', 0, 8),
      s(3, 'CompactionExecutor', 0, 40),
    ];
    expect(summarizePools(samples)).toEqual({
      MemtableFlushWriter: { completed: 1, busySeconds: ['17:08:47', '17:08:48'] },
      CompactionExecutor: { completed: 0, busySeconds: [] },
    });
  });

  it('takes the reads in time order, and a pool read once or never has finished nothing', () => {
    const samples = [s(5, 'CompactionExecutor', 1, 12), s(1, 'CompactionExecutor', 0, 10)];
    expect(summarizePools(samples)).toEqual({
      MemtableFlushWriter: { completed: 0, busySeconds: [] },
      CompactionExecutor: { completed: 2, busySeconds: ['17:08:51'] },
    });
  });
});
