import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROMETHEUS_DS } from '../grafana/datasources.ts';
import { EXTERNAL_METRICS, METRICS, PROCESS_METRICS } from '../shared/observability/catalogue.ts';
import { ALERTS, metric, PRICE_MOVE_DEFAULTS, priceMoveExpr } from './catalogue.ts';
import { loadAlertConfig } from './config.ts';
import { GRAFANA_ALERTS_FILE, generatedAlertFiles, RULES_FILE } from './generate.ts';
import { grafanaPriceMoveRule } from './render.ts';

const KNOWN = new Set(
  [...Object.values(METRICS), ...Object.values(EXTERNAL_METRICS), ...Object.values(PROCESS_METRICS)].map(
    (d) => d.name as string,
  ),
);
const PROMQL_WORDS = new Set([
  'sum',
  'by',
  'and',
  'or',
  'unless',
  'offset',
  'increase',
  'delta',
  'deriv',
  'changes',
  'absent',
  'time',
  'min',
  'max',
  'abs',
]);

/** Identifiers of an expression that name series (not functions, keywords, labels or durations). */
function seriesNames(expr: string): string[] {
  const noStrings = expr.replace(/"[^"]*"/g, '""');
  const noLabels = noStrings.replace(/\{[^}]*\}/g, '').replace(/\bby \([^)]*\)/g, '');
  const noRanges = noLabels.replace(/\[[^\]]*\]/g, '').replace(/offset \w+/g, '');
  return [...noRanges.matchAll(/[a-zA-Z_][a-zA-Z0-9_]*/g)]
    .map((m) => m[0])
    .filter((w) => !PROMQL_WORDS.has(w));
}

describe('alerts as code', () => {
  it('keeps the generated PrometheusRule and Grafana alert files in step (npm run alerts:generate)', () => {
    for (const [path, text] of Object.entries(generatedAlertFiles())) {
      expect(readFileSync(path, 'utf8'), `${path} is stale: run npm run alerts:generate`).toBe(text);
    }
    expect(Object.keys(generatedAlertFiles()).sort()).toEqual([GRAFANA_ALERTS_FILE, RULES_FILE].sort());
  });

  it('names every condition the issue asks for, each with a summary and a runbook line', () => {
    expect(ALERTS.map((a) => a.name)).toEqual([
      'MarketFeedSilent',
      'MarketConsumerLagGrowing',
      'MarketDeadLetters',
      'MarketFinalizedMinuteStale',
      'MarketProcessRestarting',
      'MarketCassandraDown',
      'MarketKafkaDown',
      'MarketBridgeSpooling',
    ]);
    for (const a of ALERTS) {
      expect(a.runbook.length, a.name).toBeGreaterThan(40);
      expect(a.runbook, a.name).not.toContain('\n');
      expect(a.summary.length, a.name).toBeGreaterThan(20);
    }
  });

  it('reads only catalogue metrics, and declares each one it reads', () => {
    for (const a of ALERTS) {
      const names = new Set(seriesNames(a.expr));
      expect(
        [...names].filter((n) => !KNOWN.has(n)),
        a.name,
      ).toEqual([]);
      expect([...names].sort(), a.name).toEqual([...new Set(a.metrics.map(metric))].sort());
    }
    expect(seriesNames(priceMoveExpr(PRICE_MOVE_DEFAULTS))).toEqual([
      METRICS.bridgeLastPrice.name,
      METRICS.bridgeLastPrice.name,
    ]);
  });

  it('provisions the price-move rule on the pinned Prometheus datasource with the configured threshold', () => {
    const file = parse(readFileSync(GRAFANA_ALERTS_FILE, 'utf8'));
    const r = file.groups[0].rules[0];
    expect(r.data[0].datasourceUid).toBe(PROMETHEUS_DS.uid);
    expect(r.data[0].model.expr).toBe(priceMoveExpr(PRICE_MOVE_DEFAULTS));
    expect(r.data[2].model.conditions[0].evaluator).toEqual({
      type: 'gt',
      params: [PRICE_MOVE_DEFAULTS.pct],
    });
    const custom = grafanaPriceMoveRule(
      loadAlertConfig({ ALERT_PRICE_MOVE_PCT: '2.5', ALERT_PRICE_MOVE_WINDOW_S: '300' }),
    );
    const c = custom.groups[0]!.rules[0]!;
    expect(c.data[0]!.model.expr).toContain('offset 300s');
    expect(c.data[2]!.model.conditions).toEqual([{ evaluator: { type: 'gt', params: [2.5] } }]);
  });

  it('refuses a bad price-move setting with one line each', () => {
    expect(() => loadAlertConfig({ ALERT_PRICE_MOVE_PCT: '0', ALERT_PRICE_MOVE_WINDOW_S: '90' })).toThrow(
      /ALERT_PRICE_MOVE_PCT[\s\S]*ALERT_PRICE_MOVE_WINDOW_S=.*whole number of minutes/,
    );
  });
});

describe('the gcp overlay', () => {
  it('deploys the generated PrometheusRule and switches on the kafka_exporter the lag and dead-letter alerts read', async () => {
    const { execFileSync } = await import('node:child_process');
    const { parseAllDocuments } = await import('yaml');
    const text = execFileSync('kubectl', ['kustomize', 'knative/overlays/gcp'], {
      encoding: 'utf8',
      maxBuffer: 32 << 20,
    });
    const docs = parseAllDocuments(text).map((d) => d.toJS());
    const rule = docs.find((d) => d.kind === 'PrometheusRule');
    const generated = parse(readFileSync(RULES_FILE, 'utf8'));
    expect(rule.spec).toEqual(generated.spec);
    expect(rule.metadata.namespace).toBe('market');
    const kafka = docs.find((d) => d.kind === 'Kafka' && d.metadata.name === 'market');
    expect(kafka.spec.kafkaExporter.groupRegex).toBe('.*');
  }, 60_000);
});
