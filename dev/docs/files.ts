import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

/** Tracked and new markdown files holding generated blocks. */
export function documentedFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], {
    cwd: root,
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter(Boolean)
    .map((f) => resolve(root, f))
    .filter((f) => {
      try {
        return readFileSync(f, 'utf8').includes('<!-- generated:');
      } catch {
        return false;
      }
    });
}
