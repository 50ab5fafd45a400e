import { describe, expect, it } from 'vitest';
import type { Bar, Resolution, RollupLevel } from '../../shared/market/rollup.ts';
import { rollupAfterMinute } from './rollups.ts';

const M = Date.UTC(2026, 10, 20, 23, 59);
const bar = (start: number): Bar => ({
  start,
  open: 1,
  high: 2,
  low: 0.5,
  close: 1.5,
  sums: { trades: 1n, volumeE8: 1n, priceE8: 1n, notionalE6: 1n },
  firstTradeTime: start,
  lastTradeTime: start,
  minutes: 1,
});

/** Candle tables in memory: the hook's order of reads and writes is what is under test here. */
function memory(failOn?: Resolution) {
  const tables = new Map<Resolution, Map<number, Bar>>([['1m', new Map([[M, bar(M)]])]]);
  const log: string[] = [];
  const requests: number[] = [];
  return {
    tables,
    log,
    requests,
    deps: {
      rollups: {
        async bars(r: Resolution, _s: string, from: number, to: number) {
          log.push(`read ${r}`);
          return [...(tables.get(r)?.values() ?? [])].filter((b) => b.start >= from && b.start < to);
        },
        async upsert(level: RollupLevel, _s: string, b: Bar) {
          if (level.resolution === failOn) throw new Error('write timed out');
          log.push(`write ${level.resolution}`);
          tables.set(level.resolution, new Map([...(tables.get(level.resolution) ?? []), [b.start, b]]));
        },
        async delete(level: RollupLevel, _s: string, start: number) {
          log.push(`delete ${level.resolution}`);
          tables.get(level.resolution)?.delete(start);
        },
      },
      requestFinalize: async (_s: string, minutes: Iterable<number>) => {
        requests.push(...minutes);
      },
    },
  };
}

describe('the roll-up hook', () => {
  it('rolls level by level, each from the one it just wrote, into UTC buckets', async () => {
    const m = memory();
    await rollupAfterMinute(m.deps)('S', M, null);
    expect(m.log).toEqual([
      'read 1m',
      'write 5m',
      'read 5m',
      'write 15m',
      'read 15m',
      'write 1h',
      'read 1h',
      'write 1d',
    ]);
    expect([...m.tables.get('1d')!.keys()]).toEqual([Date.UTC(2026, 10, 20)]);
    expect(m.tables.get('1h')!.get(Date.UTC(2026, 10, 20, 23))!.minutes).toBe(1);
  });

  it('deletes the candles of buckets left without minutes', async () => {
    const m = memory();
    await rollupAfterMinute(m.deps)('S', M, null);
    m.tables.get('1m')!.clear(); // the minute's trades expired: its candle was deleted
    await rollupAfterMinute(m.deps)('S', M, null);
    expect(m.log.slice(-8)).toEqual([
      'read 1m',
      'delete 5m',
      'read 5m',
      'delete 15m',
      'read 15m',
      'delete 1h',
      'read 1h',
      'delete 1d',
    ]);
    expect(m.tables.get('1d')!.size).toBe(0);
  });

  it('a failed roll-up files a finalize request for the minute, then fails the run', async () => {
    const m = memory('1h');
    await expect(rollupAfterMinute(m.deps)('S', M, null)).rejects.toThrow('write timed out');
    expect(m.requests).toEqual([M]);
  });
});
