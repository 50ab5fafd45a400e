import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PingSourceManifest } from './manifests.ts';
import { nextFireTimes, PingScheduler, parseSchedule } from './ping-source.ts';

const at = (iso: string) => new Date(iso);

describe('cron schedules', () => {
  it.each([
    ['* * * * *', '2026-01-01T00:00:30Z', ['2026-01-01T00:01:00.000Z', '2026-01-01T00:02:00.000Z']],
    ['* * * * *', '2026-01-01T00:01:00Z', ['2026-01-01T00:02:00.000Z', '2026-01-01T00:03:00.000Z']],
    ['*/15 * * * *', '2026-01-01T00:01:00Z', ['2026-01-01T00:15:00.000Z', '2026-01-01T00:30:00.000Z']],
    ['5,35 * * * *', '2026-01-01T00:10:00Z', ['2026-01-01T00:35:00.000Z', '2026-01-01T01:05:00.000Z']],
    ['0 2 * * *', '2026-01-01T03:00:00Z', ['2026-01-02T02:00:00.000Z', '2026-01-03T02:00:00.000Z']],
    ['@hourly', '2026-01-01T00:10:00Z', ['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z']],
    [
      'CRON_TZ=Europe/Berlin 0 9 * * *',
      '2026-01-01T00:00:00Z',
      ['2026-01-01T08:00:00.000Z', '2026-01-02T08:00:00.000Z'],
    ],
  ])('%s after %s', (schedule, from, want) => {
    expect(nextFireTimes(schedule, undefined, at(from), 2).map((d) => d.toISOString())).toEqual(want);
  });

  it('honours spec.timezone', () => {
    expect(nextFireTimes('0 9 * * *', 'America/New_York', at('2026-01-01T00:00:00Z'))[0]!.toISOString()).toBe(
      '2026-01-01T14:00:00.000Z',
    );
  });

  it.each(['* * * *', '0 * * * * *', '61 * * * *', 'every minute'])('rejects %j', (s) => {
    expect(() => parseSchedule(s)).toThrow(/schedule/);
  });
});

describe('PingScheduler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const ps: PingSourceManifest = {
    kind: 'PingSource',
    name: 'tick',
    namespace: 'market',
    schedule: '* * * * *',
    sink: { uri: 'http://127.0.0.1:1/' },
  };

  it('fires once per minute on the minute and stops when stopped', async () => {
    vi.useFakeTimers({ now: at('2026-01-01T00:00:10Z') });
    const fired: string[] = [];
    const s = new PingScheduler([ps], async (_p, when, trigger) => {
      fired.push(`${trigger}@${when.toISOString()}`);
      return { kind: 'response', status: 200, body: Buffer.alloc(0), headers: {} };
    });
    s.start();
    await vi.advanceTimersByTimeAsync(49_999);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(fired).toEqual([
      'schedule@2026-01-01T00:01:00.000Z',
      'schedule@2026-01-01T00:02:00.000Z',
      'schedule@2026-01-01T00:03:00.000Z',
    ]);
    await s.stop();
    await vi.advanceTimersByTimeAsync(300_000);
    expect(fired).toHaveLength(3);
  });

  it('triggers on demand and rejects unknown names', async () => {
    const seen: string[] = [];
    const s = new PingScheduler([ps], async (p, _w, trigger) => {
      seen.push(`${p.name}:${trigger}`);
      return { kind: 'response', status: 202, body: Buffer.alloc(0), headers: {} };
    });
    expect(await s.trigger('tick')).toMatchObject({ status: 202 });
    expect(seen).toEqual(['tick:manual']);
    await expect(s.trigger('nope')).rejects.toThrow(/no PingSource/);
  });

  it('refuses an invalid schedule when built, not at the first tick', () => {
    expect(
      () =>
        new PingScheduler([{ ...ps, schedule: '* * *' }], async () => ({
          kind: 'error',
          reason: 'network',
          message: '',
        })),
    ).toThrow(/5 cron fields/);
  });
});
