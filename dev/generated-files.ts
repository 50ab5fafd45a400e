import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Writes generated files, or with `check` only reports the stale ones (what CI and the regeneration tests
 * run). Returns the exit code: 1 when anything was stale in check mode.
 */
export function writeOrCheck(files: Record<string, string>, regenerate: string, check: boolean): number {
  let stale = 0;
  for (const [path, text] of Object.entries(files)) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {}
    if (current === text) continue;
    if (check) {
      process.stderr.write(`${path} is stale: run ${regenerate}\n`);
      stale += 1;
    } else {
      writeFileSync(path, text);
      process.stdout.write(`wrote ${path}\n`);
    }
  }
  return stale > 0 ? 1 : 0;
}
