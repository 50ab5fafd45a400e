import { PROMETHEUS_DS } from '../grafana/datasources.ts';
import { ALERTS, type AlertDef, NAMESPACE, type PriceMoveConfig, priceMoveExpr } from './catalogue.ts';

/** The kube-prometheus-stack PrometheusRule of every pipeline alert (its Prometheus selects all rules). */
export function prometheusRule(alerts: readonly AlertDef[] = ALERTS) {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'market-pipeline',
      namespace: NAMESPACE,
      labels: { 'app.kubernetes.io/name': 'market-pipeline-alerts' },
    },
    spec: {
      groups: [
        {
          name: 'market-pipeline',
          rules: alerts.map((a) => ({
            alert: a.name,
            expr: a.expr,
            for: a.for,
            labels: { severity: a.severity },
            annotations: { summary: a.summary, runbook: a.runbook },
          })),
        },
      ],
    },
  };
}

export const PRICE_MOVE_RULE_UID = 'market-price-move';

/**
 * Grafana alerting provisioning (apiVersion 1) of the analysts' price-move rule: A queries the percent move
 * per symbol from Prometheus, B reduces each series to its last value, C fires when B >= pct.
 */
export function grafanaPriceMoveRule(c: PriceMoveConfig) {
  return {
    apiVersion: 1,
    groups: [
      {
        orgId: 1,
        name: 'market-prices',
        folder: 'Market',
        interval: '1m',
        rules: [
          {
            uid: PRICE_MOVE_RULE_UID,
            title: `Price moved ${c.pct} % in ${c.windowS / 60} min`,
            condition: 'C',
            data: [
              {
                refId: 'A',
                relativeTimeRange: { from: 600, to: 0 },
                datasourceUid: PROMETHEUS_DS.uid,
                model: { refId: 'A', expr: priceMoveExpr(c), instant: true, legendFormat: '{{symbol}}' },
              },
              {
                refId: 'B',
                datasourceUid: '__expr__',
                model: { refId: 'B', type: 'reduce', expression: 'A', reducer: 'last' },
              },
              {
                refId: 'C',
                datasourceUid: '__expr__',
                model: {
                  refId: 'C',
                  type: 'threshold',
                  expression: 'B',
                  conditions: [{ evaluator: { type: 'gt', params: [c.pct] } }],
                },
              },
            ],
            noDataState: 'OK',
            execErrState: 'Error',
            for: '0s',
            annotations: {
              summary: `{{ $labels.symbol }} moved more than ${c.pct} % within ${c.windowS / 60} minutes.`,
              runbook:
                'Open the Market dashboard for the symbol (1 m and 5 m candles) and the Market overview; a move on one symbol only is news, on all of them check the feed.',
            },
            labels: { severity: 'info', team: 'analysts' },
          },
        ],
      },
    ],
  };
}
