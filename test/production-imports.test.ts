/**
 * Production code never depends on local stand-ins or test code: nothing that ships (functions/, shared/, and
 * everything the deployable bundles pull in) imports from dev/ or test/. The bridge once imported the replay
 * feed from dev/, so its image could not be built from the Dockerfile and the cluster ran local test code paths.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ENTRIES, repoRoot } from '../dev/deploy/bundle.ts';

/** Tests and the helpers beside them (`*.test.ts`, `test-*.ts`, `*-helpers.ts`) are not production code. */
const isTestSupport = (path: string) => /(\.test\.ts|\/test-[^/]*\.ts|-helpers\.ts)$/.test(path);
const FORBIDDEN = ['dev', 'test'].map((d) => `${join(repoRoot, d)}/`);

function sources(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.[cm]?ts$/.test(f) && !f.includes('node_modules'))
    .map((f) => join(repoRoot, dir, f));
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\1/g;

/** Relative import specifiers of a file, resolved to absolute paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(SPECIFIER)]
    .map((m) => m[2] as string)
    .filter((s) => s.startsWith('.'))
    .map((s) => resolve(dirname(file), s));
}

describe('production code', () => {
  const production = [...sources('functions'), ...sources('shared')].filter((f) => !isTestSupport(f));

  it('never imports dev/, test/ or a test helper (static imports and import())', () => {
    expect(production.length).toBeGreaterThan(20);
    const bad = production.flatMap((f) =>
      importsOf(f)
        .filter((to) => FORBIDDEN.some((d) => to.startsWith(d)) || isTestSupport(to))
        .map((to) => `${relative(repoRoot, f)} -> ${relative(repoRoot, to)}`),
    );
    expect(bad).toEqual([]);
  });

  it.each(Object.keys(ENTRIES))('the %s bundle holds no file of dev/ or test/', async (name) => {
    const r = await build({
      absWorkingDir: repoRoot,
      entryPoints: [ENTRIES[name as keyof typeof ENTRIES]],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    });
    const inputs = Object.keys(r.metafile.inputs).map((p) => resolve(repoRoot, p));
    expect(inputs.length).toBeGreaterThan(1);
    expect(
      inputs.filter((p) => FORBIDDEN.some((d) => p.startsWith(d))).map((p) => relative(repoRoot, p)),
    ).toEqual([]);
  });
});
