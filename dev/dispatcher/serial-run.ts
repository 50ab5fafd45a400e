/**
 * Runs an async step one at a time, where every call covers the state at the time of the call: a call
 * made while a run is in flight waits for it and then runs again, instead of joining it. (Joining made an
 * explicit commit return after a timer commit that had read its offsets before the latest outcomes.)
 */
export function serialRun(step: () => Promise<void>): () => Promise<void> {
  let tail: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;
  return () => {
    // Calls that arrive while one run waits behind another share that waiting run: it starts after them.
    queued ??= tail.then(() => {
      queued = undefined;
      return step();
    });
    const run = queued;
    tail = run.catch(() => {});
    return run;
  };
}
