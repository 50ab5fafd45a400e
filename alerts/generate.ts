/**
 * `npm run alerts:generate`: writes the PrometheusRule of the pipeline alerts and the Grafana price-move
 * rule from alerts/catalogue.ts. `--check` only compares (exit 1 when a checked-in file is stale).
 * ALERT_PRICE_MOVE_PCT / ALERT_PRICE_MOVE_WINDOW_S change the price-move rule (alerts/config.ts).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { writeOrCheck } from '../dev/generated-files.ts';
import { PRICE_MOVE_DEFAULTS, type PriceMoveConfig } from './catalogue.ts';
import { loadAlertConfig } from './config.ts';
import { grafanaPriceMoveRule, prometheusRule } from './render.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RULES_FILE = join(root, 'knative/overlays/gcp/monitoring/prometheus-rules.yaml');
export const GRAFANA_ALERTS_FILE = join(root, 'grafana/provisioning/alerting/price-move.yaml');

const header = (what: string) =>
  `# GENERATED from alerts/catalogue.ts by \`npm run alerts:generate\` — do not edit. ${what}\n`;

/** Every generated file with its text. */
export function generatedAlertFiles(
  priceMove: PriceMoveConfig = PRICE_MOVE_DEFAULTS,
): Record<string, string> {
  const yaml = (o: unknown) => stringify(o, { lineWidth: 0 });
  return {
    [RULES_FILE]: `${header('Pipeline alerts (kube-prometheus-stack PrometheusRule).')}${yaml(prometheusRule())}`,
    [GRAFANA_ALERTS_FILE]: `${header('Price-move alert rule (Grafana alerting provisioning).')}${yaml(grafanaPriceMoveRule(priceMove))}`,
  };
}

const main = (check: boolean): number =>
  writeOrCheck(generatedAlertFiles(loadAlertConfig()), 'npm run alerts:generate', check);

if (process.argv[1] === fileURLToPath(import.meta.url))
  process.exitCode = main(process.argv.includes('--check'));
