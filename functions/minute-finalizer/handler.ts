import { HTTP } from 'cloudevents';
import type { CandleMark, LiveRow } from '../../shared/cassandra/market-store.ts';
import { pipelineError } from '../../shared/errors.ts';
import type { FunctionDef, HeaderMap } from '../../shared/host/types.ts';
import { type Candle, computeCandle, type ScaledSums, type TradeRow } from '../../shared/market/aggregate.ts';
import { hourOf, MINUTE_MS, minuteOf } from '../../shared/market/time.ts';
import type { Logger } from '../../shared/observability/logger.ts';
import type { Metrics } from '../../shared/observability/metrics.ts';

export interface FinalizerStore {
  listSymbols(): Promise<{ symbol: string }[]>;
  liveRange(symbol: string, fromMs: number, toMs: number): Promise<LiveRow[]>;
  candleMarks(symbol: string, fromMs: number, toMs: number): Promise<Map<number, CandleMark>>;
  minuteTrades(symbol: string, minute: number): Promise<TradeRow[]>;
  upsertCandle(
    symbol: string,
    minute: number,
    c: Candle,
    sourceWrites: number,
    revision: number,
  ): Promise<void>;
  addCounters(symbol: string, byMinute: ReadonlyMap<number, ScaledSums>, bumpWrites: boolean): Promise<void>;
  deleteCountersBefore(symbol: string, beforeMs: number): Promise<void>;
}

/** The catalogue metrics the finalizer reports (registered by its entry points). */
export const FINALIZER_METRICS = [
  'finalizerRuns',
  'finalizerRunDuration',
  'finalizerMinutes',
  'finalizerCorrections',
  'finalizedMinute',
] as const;

export interface FinalizerDeps {
  readonly store: FinalizerStore;
  readonly finalizeLatenessS: number;
  readonly finalizeHorizonS: number;
  readonly counterRetentionS: number;
  readonly metrics: Metrics<
    'finalizerRuns' | 'finalizerRunDuration' | 'finalizerMinutes' | 'finalizerCorrections' | 'finalizedMinute'
  >;
  readonly now?: () => number;
  /** Symbols finalized in parallel. */
  readonly concurrency?: number;
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

/**
 * Makes every closed minute exact. For each symbol it compares the live row's `writes` mark with the mark the
 * candle was computed from; a new or moved mark means new trades or counter updates, so the minute's trades
 * are read again (mark first, then rows), the candle is upserted and the counters are reconciled by the
 * difference. Runs must not overlap (Knative max-scale 1 and this in-process guard) because two reconciliations
 * of one minute would both apply their difference.
 */
export function minuteFinalizer(
  deps: FinalizerDeps,
): FunctionDef<TickEvent> & { run(): Promise<RunSummary | null> } {
  const now = deps.now ?? Date.now;
  const concurrency = deps.concurrency ?? 4;
  let running: Promise<RunSummary> | null = null;
  let retentionDoneForHour = 0;

  async function finalizeSymbol(
    symbol: string,
    fromMs: number,
    toMs: number,
    summary: RunSummary,
    log?: Logger,
  ) {
    const [live, marks] = await Promise.all([
      deps.store.liveRange(symbol, fromMs, toMs),
      deps.store.candleMarks(symbol, fromMs, toMs),
    ]);
    let newest = 0;
    for (const row of live.sort((a, b) => a.minute - b.minute)) {
      const mark = marks.get(row.minute);
      if (mark && mark.sourceWrites === row.writes) continue;
      const trades = await deps.store.minuteTrades(symbol, row.minute);
      const candle = computeCandle(trades);
      if (!candle) continue;
      await deps.store.upsertCandle(symbol, row.minute, candle, row.writes, (mark?.revision ?? 0) + 1);
      const delta: ScaledSums = {
        trades: candle.sums.trades - row.trades,
        volumeE8: candle.sums.volumeE8 - row.volumeE8,
        priceE8: candle.sums.priceE8 - row.priceE8,
        notionalE6: candle.sums.notionalE6 - row.notionalE6,
      };
      if (delta.trades || delta.volumeE8 || delta.priceE8 || delta.notionalE6) {
        await deps.store.addCounters(symbol, new Map([[row.minute, delta]]), false);
        summary.corrected += 1;
        deps.metrics.finalizerCorrections.inc();
        log?.info({ symbol, minute: new Date(row.minute).toISOString(), delta }, 'reconciled live counters');
      }
      if (mark) summary.refinalized += 1;
      else summary.finalized += 1;
      deps.metrics.finalizerMinutes.inc({ outcome: mark ? 'refinalized' : 'finalized' });
      newest = Math.max(newest, row.minute);
    }
    if (newest > 0) deps.metrics.finalizedMinute.set({ symbol }, newest / 1000);
  }

  async function runOnce(log?: Logger): Promise<RunSummary> {
    const t = now();
    const toMs = minuteOf(t - deps.finalizeLatenessS * 1000);
    const fromMs = toMs - deps.finalizeHorizonS * 1000;
    const symbols = (await deps.store.listSymbols()).map((s) => s.symbol);
    const summary: RunSummary = { finalized: 0, refinalized: 0, corrected: 0, symbols: symbols.length };
    const queue = [...symbols];
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        for (let s = queue.shift(); s !== undefined; s = queue.shift())
          await finalizeSymbol(s, fromMs, toMs, summary, log);
      }),
    );
    // Counter retention once an hour: one range tombstone per symbol, far behind the finalize horizon.
    const cutoff = hourOf(t - deps.counterRetentionS * 1000);
    if (cutoff > retentionDoneForHour) {
      await Promise.all(symbols.map((s) => deps.store.deleteCountersBefore(s, cutoff)));
      retentionDoneForHour = cutoff;
    }
    return summary;
  }

  async function run(log?: Logger): Promise<RunSummary | null> {
    if (running) {
      deps.metrics.finalizerRuns.inc({ outcome: 'skipped' });
      return null;
    }
    const started = performance.now();
    running = runOnce(log);
    try {
      const summary = await running;
      deps.metrics.finalizerRuns.inc({ outcome: 'ok' });
      log?.info(summary, 'finalizer run done');
      return summary;
    } catch (err) {
      deps.metrics.finalizerRuns.inc({ outcome: 'failed' });
      throw err;
    } finally {
      running = null;
      deps.metrics.finalizerRunDuration.observe((performance.now() - started) / 1000);
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
