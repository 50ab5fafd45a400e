/**
 * `npm run grafana:generate`: writes grafana/dashboards/*.json from the panel catalogue (shared/panels).
 * `--check` only compares and exits 1 when a checked-in file is stale.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeOrCheck } from '../dev/generated-files.ts';
import { dashboardJson, generateDashboards } from './dashboards.ts';

export const DASHBOARD_DIR = join(dirname(fileURLToPath(import.meta.url)), 'dashboards');

const main = (check: boolean): number =>
  writeOrCheck(
    Object.fromEntries(
      Object.entries(generateDashboards()).map(([file, d]) => [join(DASHBOARD_DIR, file), dashboardJson(d)]),
    ),
    'npm run grafana:generate',
    check,
  );

if (process.argv[1] === fileURLToPath(import.meta.url))
  process.exitCode = main(process.argv.includes('--check'));
