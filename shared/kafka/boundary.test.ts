import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SKIP = new Set(['node_modules', '.cache', '.git', 'dist', 'coverage', 'test-artifacts']);

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (/\.(ts|js|mjs|cjs)$/.test(entry.name)) yield path;
  }
}

// The design allows one Kafka library behind one adapter, so that replacing it stays a one-file change.
describe('the Kafka client library stays behind shared/kafka', () => {
  it('no file outside shared/kafka imports kafkajs', () => {
    const offenders = [...sources(root)]
      .map((path) => relative(root, path))
      .filter((path) => !path.startsWith('shared/kafka/'))
      .filter((path) =>
        /\bfrom\s+['"]kafkajs['"]|require\(\s*['"]kafkajs['"]\s*\)|import\(\s*['"]kafkajs['"]/.test(
          readFileSync(join(root, path), 'utf8'),
        ),
      );
    expect(offenders).toEqual([]);
  });
});
