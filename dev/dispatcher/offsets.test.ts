import { describe, expect, it } from 'vitest';
import { OffsetBook, PartitionOffsets } from './offsets.ts';

describe('PartitionOffsets', () => {
  it('commits only the highest contiguous completed offset', () => {
    const p = new PartitionOffsets();
    const g = ['10', '11', '12', '13'].map((o) => p.track(o))[0]!;
    expect(p.committable()).toBeUndefined();
    p.complete('12', g);
    p.complete('13', g);
    expect(p.committable()).toBeUndefined(); // 10 and 11 still running
    p.complete('10', g);
    expect(p.committable()).toBe('11');
    p.markCommitted('11');
    expect(p.committable()).toBeUndefined();
    p.complete('11', g);
    expect(p.committable()).toBe('14');
    expect(p.pending()).toBe(0);
  });

  it('treats gaps in the fetched offsets (compaction, transaction markers) as contiguous', () => {
    const p = new PartitionOffsets();
    const g = p.track('5');
    p.track('9');
    p.complete('9', g);
    p.complete('5', g);
    expect(p.committable()).toBe('10');
  });

  it('starts over when the partition is fetched again from an earlier offset, ignoring stale completions', () => {
    const p = new PartitionOffsets();
    const g1 = p.track('7');
    p.track('8');
    const g2 = p.track('7');
    expect(g2).not.toBe(g1);
    p.complete('8', g1);
    p.complete('7', g1);
    expect(p.committable()).toBeUndefined();
    p.complete('7', g2);
    expect(p.committable()).toBe('8');
  });

  it('survives long runs without growing', () => {
    const p = new PartitionOffsets();
    for (let i = 0; i < 10_000; i++) p.complete(String(i), p.track(String(i)));
    expect(p.committable()).toBe('10000');
    expect(p.pending()).toBe(0);
  });
});

describe('OffsetBook', () => {
  it('lists what to commit per topic and partition', () => {
    const b = new OffsetBook();
    const a0 = b.partition('a', 0);
    const a1 = b.partition('a', 1);
    a0.complete('0', a0.track('0'));
    a1.track('3');
    expect(b.committable()).toEqual([{ topic: 'a', partition: 0, offset: '1' }]);
    b.markCommitted(b.committable());
    expect(b.committable()).toEqual([]);
    expect(b.pending()).toBe(1);
  });
});
