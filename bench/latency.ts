/**
 * Where the pipeline's latency goes: per-stage quantiles from the processes' own histograms (differences of
 * two scrapes), and a timeline of the exact receive -> row latencies, so a p99 can be told apart as a steady
 * queue or as spikes at certain seconds (a minute boundary, a flush, a pause).
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

export interface TimedLatency {
  /** When the bridge received the trade (epoch ms). */
  readonly at: number;
  readonly ms: number;
}

/**
 * The seconds whose worst latency is highest, and the share of slow samples by second of the minute (a
 * share bunched at a few seconds points at periodic work; spread evenly, at steady queueing or pauses).
 */
export function latencyTimeline(samples: readonly TimedLatency[], slowMs: number, worst = 8) {
  const bySecond = new Map<number, number[]>();
  for (const s of samples) {
    const sec = Math.floor(s.at / 1000);
    const a = bySecond.get(sec) ?? [];
    if (a.length === 0) bySecond.set(sec, a);
    a.push(s.ms);
  }
  const seconds = [...bySecond.entries()].map(([sec, v]) => {
    v.sort((a, b) => a - b);
    return {
      second: new Date(sec * 1000).toISOString().slice(11, 19),
      n: v.length,
      p50: Math.round(v[Math.floor(v.length / 2)]!),
      max: Math.round(v[v.length - 1]!),
      slow: v.filter((x) => x > slowMs).length,
    };
  });
  const slowBySecondOfMinute = new Array<number>(60).fill(0);
  let slow = 0;
  for (const s of samples)
    if (s.ms > slowMs) {
      slow++;
      slowBySecondOfMinute[Math.floor(s.at / 1000) % 60]!++;
    }
  const secondsWithSlow = seconds.filter((s) => s.slow > 0).length;
  return {
    slowMs,
    slow,
    secondsWithSlow,
    seconds: seconds.length,
    worst: [...seconds].sort((a, b) => b.max - a.max).slice(0, worst),
    /** second of the minute -> slow samples, only where there are any. */
    slowBySecondOfMinute: Object.fromEntries(
      slowBySecondOfMinute.flatMap((n, i) => (n > 0 ? [[i, n] as const] : [])),
    ),
  };
}
