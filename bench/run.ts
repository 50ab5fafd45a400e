/**
 * `npm run bench [-- part ...]`: runs the named benchmark parts (default: all), prints their numbers and
 * writes each result as JSON to bench/results/<part>-<timestamp>.json (git-ignored).
 * A part is a module exporting `run(earlier): Promise<Record<string, unknown>>`; register it in PARTS. `earlier`
 * holds the results of the parts that ran before it in this invocation (the pipeline part reuses the floor's).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileStamp, RESULTS_DIR } from './work-dir.ts';

export type Earlier = Readonly<Record<string, Record<string, unknown>>>;
type Part = () => Promise<{ run(earlier: Earlier): Promise<Record<string, unknown>> }>;

const PARTS: Record<string, Part> = {
  bridge: () => import('./bridge.ts'),
  store: () => import('./store.ts'),
  floor: () => import('./floor.ts'),
  codec: () => import('./codec.ts'),
  cost: () => import('./cost.ts'),
  settings: () => import('./settings.ts'),
  pipeline: () => import('./pipeline.ts'),
  spool: () => import('./spool.ts'),
};

const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = requested.length > 0 ? requested : Object.keys(PARTS);
const unknown = names.filter((n) => !(n in PARTS));
if (unknown.length > 0) {
  console.error(`unknown bench part(s): ${unknown.join(', ')}; known: ${Object.keys(PARTS).join(', ')}`);
  process.exit(2);
}

mkdirSync(RESULTS_DIR, { recursive: true });
let failed = false;
const earlier: Record<string, Record<string, unknown>> = {};
for (const name of names) {
  const started = new Date();
  try {
    const result = await (await PARTS[name]!()).run(earlier);
    earlier[name] = result;
    const file = `${RESULTS_DIR}${name}-${fileStamp(started)}.json`;
    writeFileSync(
      file,
      `${JSON.stringify({ part: name, started: started.toISOString(), result }, null, 2)}\n`,
    );
    console.log(`[bench] ${name}: results in ${file}`);
  } catch (err) {
    failed = true;
    console.error(`[bench] ${name} failed:`, err);
  }
}
process.exit(failed ? 1 : 0);
