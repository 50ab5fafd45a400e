import { HTTP } from 'cloudevents';
import type { CandleMark, FinalizeRequest, LiveRow } from '../../shared/cassandra/market-store.ts';
import { pipelineError } from '../../shared/errors.ts';
import type { FunctionDef, HeaderMap } from '../../shared/host/types.ts';
import {
  type Candle,
  computeCandle,
  emptySums,
  outOfRange,
  type ScaledSums,
  type TradeRow,
} from '../../shared/market/aggregate.ts';
import { marketSpec } from '../../shared/market/config.ts';
import {
  closedBefore,
  type FinalizeWindowSettings,
  finalizeWindowStart,
  HOUR_MS,
  hourOf,
  MINUTE_MS,
  minuteOf,
} from '../../shared/market/time.ts';
import type { Logger } from '../../shared/observability/logger.ts';
import type { Metrics } from '../../shared/observability/metrics.ts';
import { acquireLease, LEASE_NAME, type Lease, type LeaseStore, leaseHolder } from './lease.ts';

export interface FinalizerStore extends LeaseStore {
  listSymbols(): Promise<{ symbol: string }[]>;
  liveRange(symbol: string, fromMs: number, toMs: number): Promise<LiveRow[]>;
  liveRow(symbol: string, minute: number): Promise<LiveRow | null>;
  candleMarks(symbol: string, fromMs: number, toMs: number): Promise<Map<number, CandleMark>>;
  minuteTrades(symbol: string, minute: number): Promise<TradeRow[]>;
  upsertCandle(
    symbol: string,
    minute: number,
    c: Candle,
    sourceWrites: number,
    revision: number,
  ): Promise<void>;
  deleteCandle(symbol: string, minute: number): Promise<void>;
  addCounters(symbol: string, byMinute: ReadonlyMap<number, ScaledSums>, bumpWrites: boolean): Promise<void>;
  deleteCountersBefore(symbol: string, beforeMs: number): Promise<void>;
  finalizeRequests(): Promise<FinalizeRequest[]>;
  clearFinalizeRequest(req: FinalizeRequest): Promise<void>;
  lastRunStarted(name: string): Promise<number | null>;
  recordRunStarted(name: string, holder: string, startedMs: number): Promise<boolean>;
}

/** The catalogue metrics the finalizer reports (registered by its entry points). */
export const FINALIZER_METRICS = [
  'finalizerRuns',
  'finalizerRunDuration',
  'finalizerMinutes',
  'finalizerCorrections',
  'finalizedMinute',
  'finalizerRequests',
  'finalizerPendingRequests',
  'counterOverflows',
] as const;

export interface FinalizerDeps extends FinalizeWindowSettings {
  readonly store: FinalizerStore;
  readonly counterRetentionS: number;
  /** Requests for minutes whose trade rows have expired are dropped (default: TRADE_TTL_S's default). */
  readonly tradeTtlS?: number;
  readonly metrics: Metrics<(typeof FINALIZER_METRICS)[number]>;
  readonly now?: () => number;
  /** Symbols finalized in parallel. */
  readonly concurrency?: number;
  /** Lease length in seconds (renewed while a run lasts; a crashed holder's lease frees itself then). */
  readonly leaseTtlS?: number;
  /** Identifies this process in the lease (default: host, pid and a random suffix). */
  readonly holder?: string;
  /**
   * Called after a minute's candle was written (or deleted: `null`), e.g. to update rollups. It runs before
   * the run is recorded as complete, so a failure makes the next run look at the window again.
   */
  readonly afterMinute?: (symbol: string, minute: number, candle: Candle | null) => Promise<void>;
}

export interface TickEvent {
  readonly id: string;
  readonly type: string;
}

export interface RunSummary {
  finalized: number;
  refinalized: number;
  corrected: number;
  symbols: number;
  requests: number;
}

/** Any CloudEvent triggers a run (the PingSource sends `dev.knative.sources.ping`); anything else is a 400. */
export function decodeTick(headers: HeaderMap, body: Buffer): TickEvent {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') h[k.toLowerCase()] = v;
  try {
    const parsed = HTTP.toEvent({ headers: h, body: body.length > 0 ? body.toString('utf8') : undefined });
    const ce = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!ce) throw new Error('empty batch');
    return { id: ce.id, type: ce.type };
  } catch (err) {
    throw pipelineError('EVENT_MALFORMED', `not a CloudEvent (${(err as Error).message})`, err);
  }
}

const SUM_COLUMNS = ['trades', 'volumeE8', 'priceE8', 'notionalE6'] as const;

const sameSums = (a: ScaledSums, b: ScaledSums): boolean =>
  a.trades === b.trades &&
  a.volumeE8 === b.volumeE8 &&
  a.priceE8 === b.priceE8 &&
  a.notionalE6 === b.notionalE6;

/**
 * Makes every closed minute exact. A minute is looked at when its live `writes` mark differs from the mark
 * its candle was computed from, when its live sums differ from the candle's (a lost or doubled correction),
 * or when a finalize request names it (late or replayed trades, the operator's `npm run refinalize`).
 * Per minute, in this order: live row (fresh) and mark, trade rows, counter correction by exact − live,
 * then the candle with the mark. The correction comes before the mark, so a correction whose outcome is
 * unknown (timeout, crash) leaves the mark unchanged and the next run corrects again from fresh reads.
 * One run at a time across processes (a Cassandra lease) and in this process (`running`, held until every
 * worker has stopped). See README.md for why concurrent runs would still converge.
 */
export function minuteFinalizer(
  deps: FinalizerDeps,
): FunctionDef<TickEvent> & { run(): Promise<RunSummary | null> } {
  const now = deps.now ?? Date.now;
  const concurrency = deps.concurrency ?? 4;
  const leaseTtlS = deps.leaseTtlS ?? 60;
  const holder = deps.holder ?? leaseHolder();
  const tradeTtlMs = (deps.tradeTtlS ?? marketSpec.tradeTtlS.default) * 1000;
  const { store, metrics } = deps;
  let running: Promise<RunSummary | null> | null = null;
  let retentionDoneForHour = 0;

  /** Counters of minutes at or after this are alive (older ones are, or are about to be, range-deleted). */
  const countersAliveFrom = (t: number) => hourOf(t - deps.counterRetentionS * 1000) + HOUR_MS;

  async function finalizeMinute(
    symbol: string,
    minute: number,
    live: LiveRow | null,
    mark: CandleMark | undefined,
    lease: Lease,
    summary: RunSummary,
    log?: Logger,
  ): Promise<void> {
    const candle = computeCandle(await store.minuteTrades(symbol, minute));
    const exact = candle?.sums ?? emptySums();
    const at = { symbol, minute: new Date(minute).toISOString() };
    const tooLarge = outOfRange(exact);
    if (tooLarge.length > 0) {
      // No counter or candle column can hold the minute: refuse it loudly rather than store a wrapped value.
      metrics.counterOverflows.inc({ kind: 'exact' });
      log?.error({ ...at, columns: tooLarge, code: 'MP_COUNTER_OVERFLOW' }, 'minute sums exceed 64 bits');
      return;
    }
    if (live) {
      const wrapped = SUM_COLUMNS.filter((k) => live[k] < 0n);
      if (wrapped.length > 0) {
        // Sums are never negative: a negative counter wrapped past 2^63 - 1. Cassandra adds counters modulo
        // 2^64, so a correction taken modulo 2^64 lands on the exact value, which fits.
        metrics.counterOverflows.inc({ kind: 'wrapped' });
        log?.error(
          { ...at, columns: wrapped, code: 'MP_COUNTER_OVERFLOW' },
          'live counter wrapped; correcting',
        );
      }
      const delta: ScaledSums = {
        trades: BigInt.asIntN(64, exact.trades - live.trades),
        volumeE8: BigInt.asIntN(64, exact.volumeE8 - live.volumeE8),
        priceE8: BigInt.asIntN(64, exact.priceE8 - live.priceE8),
        notionalE6: BigInt.asIntN(64, exact.notionalE6 - live.notionalE6),
      };
      if (delta.trades || delta.volumeE8 || delta.priceE8 || delta.notionalE6) {
        lease.assert();
        await store.addCounters(symbol, new Map([[minute, delta]]), false);
        summary.corrected += 1;
        metrics.finalizerCorrections.inc();
        log?.info(
          { ...at, delta: Object.fromEntries(Object.entries(delta).map(([k, v]) => [k, String(v)])) },
          'reconciled live counters',
        );
      }
    }
    lease.assert();
    if (candle) {
      await store.upsertCandle(symbol, minute, candle, live?.writes ?? 0, (mark?.revision ?? 0) + 1);
    } else if (mark) {
      // The minute's trade rows are all gone (expired, or never there): no candle rather than a wrong one.
      await store.deleteCandle(symbol, minute);
    }
    if (candle || mark) {
      if (mark) summary.refinalized += 1;
      else summary.finalized += 1;
      metrics.finalizerMinutes.inc({ outcome: !candle ? 'emptied' : mark ? 'refinalized' : 'finalized' });
    }
    await deps.afterMinute?.(symbol, minute, candle);
  }

  async function finalizeSymbol(
    symbol: string,
    fromMs: number,
    toMs: number,
    lease: Lease,
    summary: RunSummary,
    log?: Logger,
  ) {
    const [live, marks] = await Promise.all([
      store.liveRange(symbol, fromMs, toMs),
      store.candleMarks(symbol, fromMs, toMs),
    ]);
    let newest = 0;
    for (const row of live.sort((a, b) => a.minute - b.minute)) {
      const mark = marks.get(row.minute);
      if (mark && mark.sourceWrites === row.writes && sameSums(mark.sums, row)) continue;
      await finalizeMinute(symbol, row.minute, row, mark, lease, summary, log);
      newest = Math.max(newest, row.minute);
    }
    if (newest > 0) metrics.finalizedMinute.set({ symbol }, newest / 1000);
  }

  /** Minutes named by a request, whatever their age; a request is cleared only after its minute is done. */
  async function finalizeRequested(t: number, toMs: number, lease: Lease, summary: RunSummary, log?: Logger) {
    const requests = await store.finalizeRequests();
    metrics.finalizerPendingRequests.set(requests.length);
    for (const req of requests) {
      if (req.minute >= toMs) continue; // not closed yet: a later run takes it
      if (req.minute < t - tradeTtlMs) {
        lease.assert();
        await store.clearFinalizeRequest(req);
        metrics.finalizerRequests.inc({ origin: req.origin, outcome: 'expired' });
        continue;
      }
      // Where counters may still be written, a minute minute-window never counted (its trades came too
      // late) gets them now; older minutes have none to correct (range-deleted, never to be written again).
      const live =
        req.minute >= countersAliveFrom(t)
          ? ((await store.liveRow(req.symbol, req.minute)) ?? {
              minute: req.minute,
              writes: 0,
              ...emptySums(),
            })
          : null;
      const marks = await store.candleMarks(req.symbol, req.minute, req.minute + MINUTE_MS);
      await finalizeMinute(req.symbol, req.minute, live, marks.get(req.minute), lease, summary, log);
      lease.assert();
      await store.clearFinalizeRequest(req);
      summary.requests += 1;
      metrics.finalizerRequests.inc({ origin: req.origin, outcome: 'done' });
    }
  }

  async function runOnce(lease: Lease, log?: Logger): Promise<RunSummary> {
    const t = now();
    const toMs = closedBefore(t, deps);
    // From where the last complete run's window began: a minute a writer marked while it was inside the
    // window is looked at once more even if the window has moved past it since (writers use the same cut).
    const last = await store.lastRunStarted(LEASE_NAME);
    const fromMs = Math.max(
      finalizeWindowStart(Math.min(t, last ?? t), deps),
      minuteOf(countersAliveFrom(t)),
    );
    const symbols = (await store.listSymbols()).map((s) => s.symbol);
    const summary: RunSummary = {
      finalized: 0,
      refinalized: 0,
      corrected: 0,
      symbols: symbols.length,
      requests: 0,
    };
    const queue = [...symbols];
    const failures: unknown[] = [];
    // Every worker runs to its end (a symbol's failure does not stop the others, nor end the run early).
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
          await finalizeSymbol(s, fromMs, toMs, lease, summary, log).catch((err: unknown) => {
            failures.push(err);
            log?.error({ err, symbol: s }, 'finalizing a symbol failed; the next run retries it');
          });
        }
      }),
    );
    if (failures.length > 0) throw failures[0];
    await finalizeRequested(t, toMs, lease, summary, log);
    // Counter retention once an hour: one range tombstone per symbol, far behind the finalize horizon.
    const cutoff = hourOf(t - deps.counterRetentionS * 1000);
    if (cutoff > retentionDoneForHour) {
      lease.assert();
      await Promise.all(symbols.map((s) => store.deleteCountersBefore(s, cutoff)));
      retentionDoneForHour = cutoff;
    }
    lease.assert();
    if (!(await store.recordRunStarted(LEASE_NAME, lease.holder, t))) {
      throw pipelineError('LEASE_LOST', 'the lease passed to another run before this one was recorded');
    }
    return summary;
  }

  async function runLeased(log?: Logger): Promise<RunSummary | null> {
    const lease = await acquireLease(store, { holder, ttlS: leaseTtlS });
    if (!lease) {
      metrics.finalizerRuns.inc({ outcome: 'busy' });
      log?.info('another finalizer run holds the lease; skipping this tick');
      return null;
    }
    const started = performance.now();
    try {
      const summary = await runOnce(lease, log);
      metrics.finalizerRuns.inc({ outcome: 'ok' });
      log?.info(summary, 'finalizer run done');
      return summary;
    } catch (err) {
      metrics.finalizerRuns.inc({ outcome: 'failed' });
      throw err;
    } finally {
      await lease.release();
      metrics.finalizerRunDuration.observe((performance.now() - started) / 1000);
    }
  }

  async function run(log?: Logger): Promise<RunSummary | null> {
    if (running) {
      metrics.finalizerRuns.inc({ outcome: 'skipped' });
      return null;
    }
    running = runLeased(log);
    try {
      return await running;
    } finally {
      running = null;
    }
  }

  return {
    name: 'minute-finalizer',
    decode: decodeTick,
    async handle(_tick, { log }) {
      // The PingSource fires on the minute, when the minute that just ended still has its allowed lateness
      // to run. Waiting that out (at most FINALIZE_LATENESS_S, capped at 30 s) finalizes it in this tick
      // instead of the next one, so a closed minute shows up about 70 s after its start, not 130 s.
      const intoMinuteMs = now() % MINUTE_MS;
      const latenessMs = deps.finalizeLatenessS * 1000;
      if (latenessMs <= 30_000 && intoMinuteMs < latenessMs) {
        await new Promise((r) => setTimeout(r, latenessMs - intoMinuteMs + 250));
      }
      await run(log);
      return undefined;
    },
    run: () => run(),
  };
}
