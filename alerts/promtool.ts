import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { toolsDir } from '../test/infra/tools.ts';

/**
 * `promtool test rules` driven from TypeScript: input series in promtool's expanding notation, one alert
 * test per run. promtool is installed by dev/setup/install-prometheus-tools.sh into .cache/tools/bin.
 */
export const PROMTOOL = join(toolsDir, 'bin', 'promtool');

/** Seconds between two samples of every input series (what the PodMonitors scrape at). */
export const STEP_S = 15;

export interface InputSeries {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** promtool notation, e.g. `5+0.5x119` (120 samples) or `_x100 1+0x19`. */
  readonly values: string;
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly Record<string, unknown>[];
}

export interface ExpectedAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

const escapeLabel = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

export const seriesText = (s: InputSeries): string => {
  const labels = Object.entries(s.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${s.name}{${labels.join(',')}}`;
};

/** A number as promtool's notation reads it (no exponent). */
export const num = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(6));

/** `n` samples starting at `start`, growing by `step` each. */
export const ramp = (start: number, step: number, n: number): string => `${num(start)}+${num(step)}x${n - 1}`;

export interface PromtoolResult {
  readonly ok: boolean;
  readonly output: string;
}

/** Runs one `promtool test rules` with the given groups, series and the alerts expected at `evalTime`. */
export function testAlert(opts: {
  /** Rule groups as promtool reads them (only written out: a Grafana-style rule without `for` is fine). */
  groups: readonly { name: string; rules: readonly { alert: string; expr: string }[] }[];
  series: readonly InputSeries[];
  alertname: string;
  evalTime: string;
  expected: readonly ExpectedAlert[];
}): PromtoolResult {
  if (!existsSync(PROMTOOL))
    throw new Error(`promtool is missing: run sh dev/setup/install-prometheus-tools.sh (${PROMTOOL})`);
  const dir = mkdtempSync(join(tmpdir(), 'mp-promtool-'));
  try {
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: opts.groups }, { lineWidth: 0 }));
    const test = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '30s',
      tests: [
        {
          interval: `${STEP_S}s`,
          input_series: opts.series.map((s) => ({ series: seriesText(s), values: s.values })),
          alert_rule_test: [
            {
              eval_time: opts.evalTime,
              alertname: opts.alertname,
              exp_alerts: opts.expected.map((e) => ({
                exp_labels: e.labels,
                ...(e.annotations ? { exp_annotations: e.annotations } : {}),
              })),
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'test.yaml'), stringify(test, { lineWidth: 0 }));
    const r = spawnSync(PROMTOOL, ['test', 'rules', 'test.yaml'], { cwd: dir, encoding: 'utf8' });
    return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
