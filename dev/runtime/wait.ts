import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError } from './errors.ts';

/** The last error-looking line of a log, to put a real cause into a one-line startup failure. */
export function lastErrorLine(logFile: string, maxBytes = 64 * 1024): string | undefined {
  let text: string;
  try {
    const size = statSync(logFile).size;
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    const fd = openSync(logFile, 'r');
    try {
      readSync(fd, buf, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    text = buf.toString('utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n').filter((l) => /\b(ERROR|FATAL|Exception|Error:)/.test(l));
  const line = lines[lines.length - 1]?.trim();
  return line && line.length > 240 ? `${line.slice(0, 240)}...` : line;
}

export interface WaitReadyOptions {
  service: string;
  logFile: string;
  timeoutMs: number;
  /** Set once the process has exited; readiness can then never come. */
  exitCode: () => number | null | undefined;
  intervalMs?: number;
}

/** Polls `probe` until it resolves; fails fast with the log's cause if the process dies meanwhile. */
export async function waitReady(probe: () => Promise<void>, opts: WaitReadyOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const code = opts.exitCode();
    if (code !== undefined) {
      const cause = lastErrorLine(opts.logFile);
      throw new RuntimeError(
        'START_FAILED',
        `${opts.service} exited during startup (code ${code})${cause ? `: ${cause}` : ''}`,
        `read ${opts.logFile}; if its data is from another version or setup, \`npm run runtime -- reset\``,
      );
    }
    try {
      await probe();
      return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: last probe said ${lastError.message.split('\n')[0]}` : '';
      throw new RuntimeError(
        'START_TIMEOUT',
        `${opts.service} not ready after ${Math.round(opts.timeoutMs / 1000)} s${why}`,
        `read ${opts.logFile}, or allow longer with MARKET_RUNTIME_START_TIMEOUT_MS`,
      );
    }
    await sleep(opts.intervalMs ?? 250);
  }
}
