import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run bench` writes each part's JSON (git-ignored). */
export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** A time as it appears in the names under RESULTS_DIR (no colons or dots). */
export const fileStamp = (d: Date): string => d.toISOString().replace(/[:.]/g, '-');

/**
 * Ends a pipeline run's work dir: the processes' logs (the only post-mortem of a run) move to `into`, beside
 * the results; the rest (manifest copy, bridge spool) is removed with the dir. Returns where the logs went.
 */
export function keepLogs(work: string, into: string): string | undefined {
  const logs = join(work, 'logs');
  let kept: string | undefined;
  if (existsSync(logs)) {
    cpSync(logs, into, { recursive: true });
    kept = into;
  }
  rmSync(work, { recursive: true, force: true });
  return kept;
}
