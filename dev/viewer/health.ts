import { METRICS } from '../../shared/observability/catalogue.ts';
import type { LocalReduction } from '../../shared/panels/index.ts';
import { bucketsOf, parsePromText, type Sample } from './prom-text.ts';

/** Samples of every configured target at one moment; a target that failed is absent. */
export interface Snapshot {
  readonly atMs: number;
  readonly byTarget: ReadonlyMap<string, readonly Sample[]>;
}

export interface HealthValue {
  readonly label: string;
  readonly value: number | null;
}

const matches = (s: Sample, name: string, match: Readonly<Record<string, string>> = {}) =>
  s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v);

/** Sum of the matching series per target. */
function sums(snap: Snapshot, name: string, match?: Readonly<Record<string, string>>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [target, samples] of snap.byTarget) {
    const hits = samples.filter((s) => matches(s, name, match));
    if (hits.length > 0)
      out.set(
        target,
        hits.reduce((a, s) => a + s.value, 0),
      );
  }
  return out;
}

/** Cumulative bucket counts by upper bound, summed over series and targets (optionally minus `prev`). */
function buckets(snap: Snapshot, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const samples of snap.byTarget.values()) {
    for (const [le, v] of bucketsOf(samples, name)) out.set(le, (out.get(le) ?? 0) + v);
  }
  return out;
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket that holds the rank. */
export function histogramQuantile(q: number, cumulative: ReadonlyMap<number, number>): number | null {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const total = cumulative.get(Number.POSITIVE_INFINITY) ?? 0;
  if (total <= 0 || bounds.length === 0) return null;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of bounds) {
    const c = cumulative.get(b)!;
    if (c >= rank) {
      if (b === Number.POSITIVE_INFINITY) return prevBound;
      if (c === prevCount) return b;
      return prevBound + ((b - prevBound) * (rank - prevCount)) / (c - prevCount);
    }
    prevBound = b;
    prevCount = c;
  }
  return prevBound;
}

/**
 * What the viewer shows for a health panel, from the last two scrapes: rates and recent quantiles need both
 * (null until there are two); sums and ages need one. A metric no target exposes is null, not 0.
 */
export function reduce(
  r: LocalReduction,
  cur: Snapshot,
  prev: Snapshot | undefined,
  nowMs: number,
): HealthValue[] {
  switch (r.kind) {
    case 'rate': {
      const name = METRICS[r.metric].name;
      const now = sums(cur, name, r.match);
      if (!prev || now.size === 0 || cur.atMs <= prev.atMs) return [{ label: 'per second', value: null }];
      const before = sums(prev, name, r.match);
      let delta = 0;
      for (const [target, v] of now) {
        const p = before.get(target) ?? 0;
        delta += v >= p ? v - p : v; // a restarted process starts from 0 again
      }
      return [{ label: 'per second', value: delta / ((cur.atMs - prev.atMs) / 1000) }];
    }
    case 'quantiles': {
      const name = METRICS[r.metric].name;
      const all = buckets(cur, name);
      const recent = new Map(all);
      if (prev) for (const [le, c] of buckets(prev, name)) recent.set(le, (recent.get(le) ?? 0) - c);
      const useRecent = prev !== undefined && (recent.get(Number.POSITIVE_INFINITY) ?? 0) > 0;
      const source = useRecent ? recent : all;
      return r.quantiles.map((q) => ({
        label: `p${Math.round(q * 100)}`,
        value: histogramQuantile(q, source),
      }));
    }
    case 'sum': {
      const s = sums(cur, METRICS[r.metric].name);
      return [{ label: 'total', value: s.size === 0 ? null : [...s.values()].reduce((a, b) => a + b, 0) }];
    }
    case 'age': {
      const values = [...cur.byTarget.values()].flat().filter((s) => s.name === METRICS[r.metric].name);
      if (values.length === 0) return [{ label: 'seconds', value: null }];
      return [{ label: 'seconds', value: nowMs / 1000 - Math.max(...values.map((s) => s.value)) }];
    }
    case 'rowAge':
      return [{ label: 'seconds', value: null }]; // computed by the server from the panel's rows
  }
}

export interface Scraper {
  /** The newest snapshot and the one before (at least `minGapMs` older), scraping when due. */
  snapshots(): Promise<{ cur: Snapshot; prev: Snapshot | undefined }>;
}

export function createScraper(opts: {
  urls: readonly string[];
  timeoutMs: number;
  minGapMs: number;
  onFailure: (url: string, err: Error) => void;
  now?: () => number;
}): Scraper {
  const now = opts.now ?? Date.now;
  let cur: Snapshot | undefined;
  let prev: Snapshot | undefined;
  let inflight: Promise<void> | undefined;

  async function scrapeOnce(): Promise<void> {
    const byTarget = new Map<string, Sample[]>();
    await Promise.all(
      opts.urls.map(async (url) => {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs) });
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          byTarget.set(url, parsePromText(await res.text()));
        } catch (err) {
          opts.onFailure(url, err as Error);
        }
      }),
    );
    prev = cur;
    cur = { atMs: now(), byTarget };
  }

  return {
    async snapshots() {
      if (!cur || now() - cur.atMs >= opts.minGapMs) {
        inflight ??= scrapeOnce().finally(() => {
          inflight = undefined;
        });
        await inflight;
      }
      return { cur: cur!, prev };
    },
  };
}
