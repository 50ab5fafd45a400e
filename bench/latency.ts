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

/** Nearest-rank p50 / p95 / p99 and max of ascending values (NaN when there are none). */
export const quantiles = (sorted: readonly number[]) => {
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
};

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

export interface EventLatency {
  /** The event the row came in (`trades_10s.event_id`). */
  readonly event: string;
  readonly ms: number;
}

/** Upper bounds (trades per event, inclusive) of the size classes; the last class is open. */
export const EVENT_SIZE_CLASSES = [20, 100] as const;

/**
 * Receive -> row latency of the rows by the size of the event that carried them: a p99 made by a few large
 * events (the feed's bursts of hundreds of trades, all rows of one event sharing one latency) is a different
 * problem from one made by every event's queueing. Per class: events, rows, the rows' share, p50 / p99 and
 * the rows over `overMs` (a goal).
 */
export function latencyByEventSize(
  rows: readonly EventLatency[],
  overMs: number,
  bounds: readonly number[] = EVENT_SIZE_CLASSES,
) {
  const byEvent = new Map<string, number[]>();
  for (const r of rows) {
    const a = byEvent.get(r.event);
    if (a) a.push(r.ms);
    else byEvent.set(r.event, [r.ms]);
  }
  const classes = [...bounds, Number.POSITIVE_INFINITY].map((upTo, i) => ({
    from: i === 0 ? 1 : bounds[i - 1]! + 1,
    upTo,
    events: 0,
    ms: [] as number[],
  }));
  for (const ms of byEvent.values()) {
    const c = classes.find((k) => ms.length <= k.upTo)!;
    c.events++;
    for (const v of ms) c.ms.push(v);
  }
  return classes.map((c) => {
    const q = quantiles(c.ms.sort((a, b) => a - b));
    const rounded = (v: number) => (c.ms.length > 0 ? Math.round(v) : null);
    return {
      tradesPerEvent: Number.isFinite(c.upTo) ? `${c.from}-${c.upTo}` : `>${c.from - 1}`,
      events: c.events,
      rows: c.ms.length,
      rowShare: rows.length > 0 ? Math.round((c.ms.length / rows.length) * 1000) / 1000 : 0,
      p50: rounded(q.p50),
      p99: rounded(q.p99),
      [`over${overMs}ms`]: c.ms.filter((v) => v > overMs).length,
    };
  });
}
