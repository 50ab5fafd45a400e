import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { documentedFiles } from './files.ts';
import { renderGenerated } from './tables.ts';

describe('generated README tables', () => {
  const files = documentedFiles();
  it('exist', () => expect(files.length).toBeGreaterThan(0));
  it.each(files)('%s is up to date (run `npm run docs`)', (file) => {
    const text = readFileSync(file, 'utf8');
    expect(renderGenerated(text)).toBe(text);
  });
});
