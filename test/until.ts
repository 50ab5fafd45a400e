/**
 * Polls `check` every 250 ms until it holds; past `timeoutMs` throws "timed out waiting for <what>" (a
 * function is called then, so the message can say what was seen last).
 */
export async function until(
  what: string | (() => string),
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
