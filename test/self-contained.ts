import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';

/**
 * Lines of tracked code that reach above the repository root: relative path literals that resolve outside it,
 * and joins that step up from the root (resolve of the root and a parent step). A newcomer's clone has nothing
 * beside it.
 */
export function pathsAboveRoot(
  root: string,
  files: readonly string[],
  read = (f: string) => readFileSync(resolve(root, f), 'utf8'),
): string[] {
  const hits: string[] = [];
  for (const file of files) {
    read(file)
      .split('\n')
      .forEach((line, i) => {
        const where = `${file}:${i + 1}: ${line.trim().slice(0, 160)}`;
        for (const m of line.matchAll(/[`'"]((?:\.\.\/)+[^`'"$]*)/g)) {
          if (isAbove(root, resolve(root, dirname(file), m[1] ?? ''))) hits.push(where);
        }
        for (const m of line.matchAll(/\$\(dirname "?\$0"?\)((?:\/\.\.)+)/g)) {
          if (isAbove(root, resolve(root, dirname(file), `.${m[1]}`))) hits.push(where);
        }
        if (/\b(repoRoot|rootDir|root|ROOT)\s*,\s*['"]\.\.['"]/.test(line)) hits.push(where);
      });
  }
  return [...new Set(hits)];
}

const isAbove = (root: string, target: string): boolean => {
  const rel = relative(root, target);
  return rel === '..' || rel.startsWith(`..${sep}`);
};

export const trackedCode = (root: string): string[] =>
  execFileSync('git', ['ls-files', '-co', '--exclude-standard', '*.ts', '*.mjs', '*.js', '*.cjs', '*.sh'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f && !f.startsWith('node_modules/'));
