import { describe, expect, it } from 'vitest';
import { repoRoot } from './fixtures.ts';
import { pathsAboveRoot, trackedCode } from './self-contained.ts';

describe('the repository is the whole project', () => {
  it('no source, test or script refers to a path above the repository root', () => {
    expect(pathsAboveRoot(repoRoot, trackedCode(repoRoot))).toEqual([]);
  });

  it('the check sees each way of stepping out', () => {
    // Built from parts so that this file does not itself hold a path above the root.
    const up = (n: number) => '../'.repeat(n);
    const files: Record<string, string> = {
      'a/b.ts': `readFileSync(new URL('${up(3)}elsewhere/x.json', import.meta.url))`,
      'c.ts': `const d = resolve(repoRoot, ${"'..'"}, 'shared');`,
      'd/e.sh': `cd "$(dirname "$0")/${up(2).slice(0, -1)}"`,
      'f/g.ts': `import { x } from '${up(1)}h.ts';`,
    };
    const hits = pathsAboveRoot('/repo', Object.keys(files), (f) => files[f] ?? '');
    expect(hits.map((h) => h.split(':')[0])).toEqual(['a/b.ts', 'c.ts', 'd/e.sh']);
  });
});
