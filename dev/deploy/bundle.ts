/**
 * Bundles each deployable into `dist/<name>/main.js` (one ESM file, dependencies included) for fast cold
 * starts: one file to read instead of ~200 packages to resolve, and no TypeScript loader at run time.
 *
 * Files read at run time through `new URL('<relative path>', import.meta.url)` (the Avro schema, the CQL
 * migrations) are found by a small esbuild plugin and copied next to the bundle under the same relative
 * path, so `import.meta.url` of the bundle resolves them exactly as the source files do. The sources stay
 * unchanged.
 *
 * Usage: node --import tsx dev/deploy/bundle.ts [name...]   (no name: all)
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every deployable and its entry point. The image and the manifests use the same names. */
export const ENTRIES = {
  // The one function entry, with the function's name built in (FUNCTION_NAME) below.
  'trade-writer': 'functions/main.ts',
  'minute-window': 'functions/main.ts',
  'minute-finalizer': 'functions/main.ts',
  bridge: 'functions/bridge/main.ts',
  schema: 'shared/cassandra/schema-cli.ts',
} as const;
export type Deployable = keyof typeof ENTRIES;
export const isDeployable = (name: string): name is Deployable => Object.hasOwn(ENTRIES, name);

const ASSET_URL = /new URL\(\s*(['"])(\.{1,2}\/[^'"]*)\1\s*,\s*import\.meta\.url\s*\)/g;

/** Collects `new URL('./x', import.meta.url)` targets of every bundled source file of this repo. */
function assetPlugin(assets: Map<string, string>, problems: string[]): Plugin {
  return {
    name: 'import-meta-url-assets',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const text = readFileSync(args.path, 'utf8');
        for (const m of text.matchAll(ASSET_URL)) {
          const rel = m[2] as string;
          const source = resolve(dirname(args.path), rel);
          if (!existsSync(source)) {
            problems.push(`${relative(repoRoot, args.path)}: ${rel} does not exist`);
            continue;
          }
          const target = rel.replace(/^(\.\.?\/)+/, '');
          const prior = assets.get(target);
          if (prior !== undefined && prior !== source) {
            problems.push(
              `${target} is wanted from ${relative(repoRoot, prior)} and ${relative(repoRoot, source)}`,
            );
          }
          assets.set(target, source);
        }
        return undefined;
      });
    },
  };
}

export interface BundleResult {
  readonly name: Deployable;
  readonly dir: string;
  readonly bytes: number;
  readonly assets: readonly string[];
}

export async function bundle(name: Deployable, outRoot = join(repoRoot, 'dist')): Promise<BundleResult> {
  const dir = join(outRoot, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const assets = new Map<string, string>();
  const problems: string[] = [];
  await build({
    absWorkingDir: repoRoot,
    entryPoints: [ENTRIES[name]],
    ...(ENTRIES[name] === 'functions/main.ts'
      ? { define: { 'process.env.FUNCTION_NAME': JSON.stringify(name) } }
      : {}),
    outfile: join(dir, 'main.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
    // CommonJS dependencies call require() for Node built-ins; an ESM bundle has no require of its own.
    banner: {
      js: "import { createRequire as __marketCreateRequire } from 'node:module'; const require = __marketCreateRequire(import.meta.url);",
    },
    plugins: [assetPlugin(assets, problems)],
  });
  if (problems.length > 0) throw new Error(`bundle ${name}:\n  ${problems.join('\n  ')}`);
  for (const [target, source] of assets) {
    cpSync(source, join(dir, target), { recursive: statSync(source).isDirectory() });
  }
  // The bundle is ESM whatever package.json sits above it (in the image there is none).
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`);
  return { name, dir, bytes: statSync(join(dir, 'main.js')).size, assets: [...assets.keys()].sort() };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2);
  const bad = names.filter((n) => !isDeployable(n));
  if (bad.length > 0) {
    console.error(`unknown: ${bad.join(', ')} (known: ${Object.keys(ENTRIES).join(', ')})`);
    process.exit(2);
  }
  for (const name of (names.length > 0 ? names : Object.keys(ENTRIES)) as Deployable[]) {
    const r = await bundle(name);
    console.log(
      `${relative(repoRoot, r.dir)}/main.js ${(r.bytes / 1024).toFixed(0)} KiB${r.assets.length ? ` + ${r.assets.join(', ')}` : ''}`,
    );
  }
}
