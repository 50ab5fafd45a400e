/**
 * Where the pipeline's latency goes: per-stage quantiles from the processes' own histograms (differences of
 * two scrapes). The rows' own receive -> row latencies, with their timeline, are `row-latencies.ts`.
 */
import { histogramQuantile } from '../dev/viewer/health.ts';
import { bucketsOf, type Sample } from '../dev/viewer/prom-text.ts';

/** The stage histograms, by the process that exposes them. */
export const STAGES = [
  { stage: 'bridge receive -> Kafka ack', process: 'bridge', metric: 'mp_bridge_receive_to_ack_seconds' },
  {
    stage: 'dispatch trades (HTTP)',
    process: 'dispatcher',
    metric: 'mp_dispatcher_dispatch_latency_seconds',
    labels: { source: 'trades' },
  },
  {
    stage: 'dispatch windows (HTTP)',
    process: 'dispatcher',
    metric: 'mp_dispatcher_dispatch_latency_seconds',
    labels: { source: 'windows' },
  },
  {
    stage: 'trade-writer handle',
    process: 'trade-writer',
    metric: 'mp_function_event_duration_seconds',
  },
  {
    stage: 'minute-window handle',
    process: 'minute-window',
    metric: 'mp_function_event_duration_seconds',
  },
  { stage: 'receive -> trade-writer done', process: 'trade-writer', metric: 'mp_pipeline_latency_seconds' },
  { stage: 'receive -> minute-window done', process: 'minute-window', metric: 'mp_pipeline_latency_seconds' },
] as const;

export type Scrapes = Readonly<Record<string, readonly Sample[]>>;

/** p50/p99 in ms of each stage between two scrapes of every process (histogram interpolation). */
export function stageQuantiles(
  before: Scrapes,
  after: Scrapes,
): Record<string, { p50: number; p99: number; n: number }> {
  const out: Record<string, { p50: number; p99: number; n: number }> = {};
  for (const s of STAGES) {
    const labels = 'labels' in s ? s.labels : {};
    const b = bucketsOf(before[s.process] ?? [], s.metric, labels);
    const hist = new Map<number, number>();
    for (const [le, c] of bucketsOf(after[s.process] ?? [], s.metric, labels))
      hist.set(le, c - (b.get(le) ?? 0));
    const ms = (q: number) => Math.round((histogramQuantile(q, hist) ?? Number.NaN) * 10_000) / 10;
    out[s.stage] = { p50: ms(0.5), p99: ms(0.99), n: hist.get(Number.POSITIVE_INFINITY) ?? 0 };
  }
  return out;
}
