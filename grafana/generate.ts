/**
 * `npm run grafana:generate`: writes grafana/dashboards/*.json from the panel catalogue (shared/panels).
 * `--check` only compares and exits 1 when a checked-in file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dashboardJson, generateDashboards } from './dashboards.ts';

export const DASHBOARD_DIR = join(dirname(fileURLToPath(import.meta.url)), 'dashboards');

function main(check: boolean): number {
  let stale = 0;
  for (const [file, d] of Object.entries(generateDashboards())) {
    const path = join(DASHBOARD_DIR, file);
    const text = dashboardJson(d);
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {}
    if (current === text) continue;
    if (check) {
      process.stderr.write(`${path} is stale: run npm run grafana:generate\n`);
      stale += 1;
    } else {
      writeFileSync(path, text);
      process.stdout.write(`wrote ${path}\n`);
    }
  }
  return stale > 0 ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  process.exitCode = main(process.argv.includes('--check'));
