/**
 * Preloaded (`node --import`) into every service the local stack starts: the parent holds our stdin pipe,
 * and the kernel closes it however the parent ends (exit, crash, SIGKILL), so EOF means "stop now". The
 * service then gets the same SIGTERM a Kubernetes pod would, and shuts down gracefully.
 */
if (process.env.MP_EXIT_WITH_PARENT === '1') {
  process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
  process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
  process.stdin.resume();
  // stdin must not keep a finished service alive.
  (process.stdin as unknown as { unref?: () => void }).unref?.();
}
