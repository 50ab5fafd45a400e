import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTable } from '../../shared/config/index.ts';
import { runtimeSpec } from './config.ts';

/** Table rows as trimmed cells, so column padding added by the formatter does not matter. */
function rows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((l) => l.trim().startsWith('|') && !/^\|[\s|:-]+\|$/.test(l.trim()))
    .map((l) =>
      l
        .trim()
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim()),
    );
}

describe('dev/runtime/README.md', () => {
  it('lists every runtime setting exactly as declared in config.ts', () => {
    const readme = rows(readFileSync(new URL('./README.md', import.meta.url), 'utf8'));
    for (const row of rows(configTable(runtimeSpec))) expect(readme).toContainEqual(row);
  });
});
