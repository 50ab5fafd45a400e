import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

export interface ViewerAssets {
  readonly html: string;
  readonly js: string;
  readonly css: string;
}

const CLIENT_DIR = join(import.meta.dirname, 'client');

/**
 * Bundles the browser code (client/app.ts, which imports the panel catalogue and lightweight-charts from
 * node_modules) in memory with esbuild; nothing is written to disk.
 */
export async function bundleAssets(): Promise<ViewerAssets> {
  const out = await build({
    entryPoints: [join(CLIENT_DIR, 'app.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'inline',
    logLevel: 'silent',
  });
  const js = out.outputFiles[0]?.text;
  if (js === undefined) throw new Error('esbuild produced no bundle for the viewer');
  const [html, css] = await Promise.all([
    readFile(join(CLIENT_DIR, 'index.html'), 'utf8'),
    readFile(join(CLIENT_DIR, 'style.css'), 'utf8'),
  ]);
  return { html, js, css };
}
