import { describe, expect, it } from 'vitest';
import { serialRun } from './serial-run.ts';

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { wait, open };
}

describe('serialRun', () => {
  it('a call made during a run runs again afterwards and sees the state at its call', async () => {
    let state = 1;
    const seen: number[] = [];
    const first = gate();
    const started = gate();
    let calls = 0;
    const run = serialRun(async () => {
      const value = state;
      if (calls++ === 0) {
        started.open();
        await first.wait;
      }
      seen.push(value);
    });
    const a = run(); // reads state 1, then stalls like a slow broker commit
    await started.wait;
    state = 3; // more outcomes completed meanwhile
    const b = run(); // an explicit commit: must not return before state 3 is covered
    first.open();
    await Promise.all([a, b]);
    expect(seen).toEqual([1, 3]);
  });

  it('calls queued behind one run share the next run', async () => {
    let runs = 0;
    const g = gate();
    const started = gate();
    const run = serialRun(async () => {
      runs++;
      if (runs === 1) {
        started.open();
        await g.wait;
      }
    });
    const first = run();
    await started.wait;
    const all = [first, run(), run(), run()];
    g.open();
    await Promise.all(all);
    expect(runs).toBe(2);
  });

  it('a failed run does not stop the next one, and the caller sees the failure', async () => {
    let n = 0;
    const run = serialRun(async () => {
      if (n++ === 0) throw new Error('broker gone');
    });
    await expect(run()).rejects.toThrow('broker gone');
    await expect(run()).resolves.toBeUndefined();
  });
});
