import { describe, expect, it } from 'vitest';
import { Backoff, connectWithRetry } from './backoff.ts';

describe('Backoff', () => {
  it('doubles its ceiling up to maxMs and keeps at least half of it', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 400 }, () => 0);
    expect([low.next(), low.next(), low.next(), low.next()]).toEqual([50, 100, 200, 200]);
    const high = new Backoff({ initialMs: 100, maxMs: 400 }, () => 1);
    expect([high.next(), high.next(), high.next()]).toEqual([100, 200, 400]);
    high.reset();
    expect(high.next()).toBe(100);
  });
});

describe('connectWithRetry', () => {
  it('retries until the connect succeeds and reports each failure', async () => {
    let calls = 0;
    const retries: number[] = [];
    const attempts = await connectWithRetry(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error('refused');
      },
      { stopped: () => false, onRetry: (a) => retries.push(a), backoff: { initialMs: 1, maxMs: 2 } },
    );
    expect(attempts).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('gives up once stopped', async () => {
    let stop = false;
    const attempts = await connectWithRetry(
      async () => {
        stop = true;
        throw new Error('refused');
      },
      { stopped: () => stop, backoff: { initialMs: 1, maxMs: 1 } },
    );
    expect(attempts).toBeUndefined();
  });
});
