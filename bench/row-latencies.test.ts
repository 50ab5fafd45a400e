import { describe, expect, it } from 'vitest';
import { prng } from '../dev/replay-feed/market.ts';
import { RowLatencies } from './row-latencies.ts';

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);

describe('RowLatencies', () => {
  it('puts each row in the class of the event that carried it, and counts rows over the goal', () => {
    const r = new RowLatencies({ slowMs: 250, overMs: 50 });
    for (let e = 0; e < 90; e++) for (let i = 0; i < 10; i++) r.add(T0, 30, `small-${e}`);
    for (let i = 0; i < 300; i++) r.add(T0, 80, 'burst');
    const [small, mid, big] = r.byEventSize();
    expect(small).toMatchObject({
      tradesPerEvent: '1-20',
      events: 90,
      rows: 900,
      p50: 30,
      p99: 30,
      over50ms: 0,
    });
    expect(mid).toMatchObject({ tradesPerEvent: '21-100', events: 0, rows: 0, p50: null, p99: null });
    expect(big).toMatchObject({
      tradesPerEvent: '>100',
      events: 1,
      rows: 300,
      rowShare: 0.25,
      over50ms: 300,
    });
  });

  it('the class bounds are inclusive', () => {
    const r = new RowLatencies({ slowMs: 250, overMs: 50 });
    for (let i = 0; i < 20; i++) r.add(T0, 1, 'a');
    for (let i = 0; i < 21; i++) r.add(T0, 2, 'b');
    const [first, second] = r.byEventSize();
    expect(first!.rows).toBe(20);
    expect(second!.rows).toBe(21);
  });

  it('under the cap every row is kept: nearest-rank quantiles of all rows, a timeline per second', () => {
    const r = new RowLatencies({ slowMs: 90, overMs: 50 });
    for (let i = 0; i < 100; i++) r.add(T0 + (i < 50 ? 0 : 1500), i + 1, `e${i % 10}`);
    expect(r.summary()).toEqual({ samples: 100, p50: 51, p95: 96, p99: 100, max: 100 });
    expect(r.sampled).toBe(false);
    const t = r.timeline();
    expect(t).toMatchObject({ slow: 10, secondsWithSlow: 1, seconds: 2, slowBySecondOfMinute: { 1: 10 } });
    expect(t.worst).toEqual([
      { second: '12:00:01', n: 50, p50: 76, max: 100, slow: 10 },
      { second: '12:00:00', n: 50, p50: 26, max: 50, slow: 0 },
    ]);
  });

  it('over the cap it keeps a uniform sample for the quantiles and exact counts for the rest', () => {
    // 200,000 rows in 2,000 events of 100, latencies 0..999 ms evenly, kept in a sample of 2,000 rows.
    const r = new RowLatencies({ slowMs: 900, overMs: 500, cap: 2_000, random: prng(7) });
    for (let i = 0; i < 200_000; i++)
      r.add(T0 + Math.floor(i / 1000) * 10, i % 1000, `e${Math.floor(i / 100)}`);
    expect(r.rows).toBe(200_000);
    expect(r.sampled).toBe(true);
    const s = r.summary();
    expect(s).toMatchObject({ samples: 200_000, sampledRows: 2_000, max: 999 });
    // A uniform sample of 2,000 puts the p50 within ~3 % of the range and the p99 within ~1 %.
    expect(Math.abs(s.p50 - 500)).toBeLessThan(40);
    expect(Math.abs(s.p99 - 990)).toBeLessThan(12);
    const [, mid] = r.byEventSize();
    expect(mid).toMatchObject({ events: 2_000, rows: 200_000, rowShare: 1, over500ms: 99_800 });
    const t = r.timeline();
    expect(t.seconds).toBe(2);
    expect(t.slow).toBe(19_800);
    expect(t.worst.map((w) => w.n)).toEqual([100_000, 100_000]);
  });
});
