// PromQL as Prometheus' own grammar reads it (@prometheus-io/lezer-promql, the parser of Prometheus' web UI):
// the metric names a dashboard query selects, and whether it parses at all. Used by tests only.
import { parser } from '@prometheus-io/lezer-promql';

/** Grafana replaces its range variables before a query reaches Prometheus; do the same for parsing. */
const grafanaVariables = (expr: string): string =>
  expr.replace(/\$__(rate_interval|interval|range)\b/g, '1m');

export interface ParsedPromql {
  /** Metric names of every vector selector, histogram suffixes (_bucket, _count, _sum) removed. */
  readonly metrics: string[];
  /** Text of every syntax error node (empty when the query parses). */
  readonly errors: string[];
}

export function parsePromql(expr: string): ParsedPromql {
  const text = grafanaVariables(expr);
  const metrics = new Set<string>();
  const errors: string[] = [];
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError)
        errors.push(`${node.from}: ${JSON.stringify(text.slice(node.from, node.to + 10))}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector')
        metrics.add(text.slice(node.from, node.to).replace(/_(bucket|count|sum)$/, ''));
    },
  });
  return { metrics: [...metrics], errors };
}

export const promqlMetricNames = (expr: string): string[] => parsePromql(expr).metrics;
