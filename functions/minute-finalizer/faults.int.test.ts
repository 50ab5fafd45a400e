/**
 * The finalizer under faults, on the real Cassandra: a store failure before or after (unknown outcome) each
 * step of a minute's finalization, two runs at once, a run whose worker fails while others still run, and
 * the minutes at the edges (the writers' cut, counters without trade rows, trades older than the window).
 * After the fault, one clean run must leave every candle and counter exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarketStore } from '../../shared/cassandra/market-store.ts';
import type { Trade } from '../../shared/contract/types.ts';
import { pipelineError } from '../../shared/errors.ts';
import { HOUR_MS, MINUTE_MS } from '../../shared/market/time.ts';
import { createTestKeyspace, type TestKeyspace } from '../../test/cassandra.ts';
import { allMetrics, batch, expectedCandle, quietLog } from '../../test/market-fixtures.ts';
import { minuteWindow } from '../minute-window/handler.ts';
import { tradeWriter } from '../trade-writer/handler.ts';
import { type FinalizerStore, minuteFinalizer } from './handler.ts';

const M0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const settings = { finalizeLatenessS: 10, finalizeHorizonS: 3 * 3600, counterRetentionS: 86400 };
let ks: TestKeyspace;
let clock = M0;
const now = () => clock;
const metrics = allMetrics();

beforeAll(async () => {
  ks = await createTestKeyspace('mp_faults');
});
afterAll(async () => ks?.drop());

const writer = () =>
  tradeWriter({ store: ks.store, mode: 'batch', ...settings, metrics, now, symbolRefreshMs: 0 });
const windows = () => minuteWindow({ store: ks.store, ...settings, metrics, now });
const finalizer = (store: FinalizerStore = ks.store, holder?: string) =>
  minuteFinalizer({
    store,
    ...settings,
    tradeTtlS: 7 * 86400,
    metrics,
    now,
    ...(holder ? { holder } : {}),
  });

async function deliver(ev: ReturnType<typeof batch>, to: { writer?: boolean; window?: boolean } = {}) {
  if (to.writer !== false) await writer().handle(ev, { log: quietLog });
  if (to.window !== false) await windows().handle(ev, { log: quietLog });
}

async function candle(symbol: string, minute: number) {
  const rs = await ks.client.execute(
    'SELECT open, high, low, close, trades, volume FROM candles_1m WHERE symbol = ? AND minute = ?',
    [symbol, new Date(minute)],
    { prepare: true },
  );
  const r = rs.rows[0];
  return r
    ? { open: r.open, high: r.high, low: r.low, close: r.close, trades: Number(r.trades), volume: r.volume }
    : null;
}

/** The scaled sums, exact (BigInt); notional from the scaled price and volume, rounded half up. */
const sums = (trades: readonly Trade[]) => {
  const out = [BigInt(trades.length), 0n, 0n, 0n];
  for (const t of trades) {
    const v = BigInt(Math.round(t.v * 1e8));
    const p = BigInt(Math.round(t.p * 1e8));
    out[1]! += v;
    out[2]! += p;
    out[3]! += (p * v + 5_000_000_000n) / 10_000_000_000n;
  }
  return out;
};

async function counters(symbol: string, minute: number) {
  const r = await ks.store.liveRow(symbol, minute);
  return r ? [r.trades, r.volumeE8, r.priceE8, r.notionalE6] : null;
}

/** Candle and live counters of the minute equal the ground truth `trades` (sorted by time). */
async function expectExact(symbol: string, minute: number, trades: readonly Trade[]) {
  const { vwap: _vwap, ...want } = expectedCandle(trades);
  expect(await candle(symbol, minute), `${symbol} candle`).toEqual(want);
  expect(await counters(symbol, minute), `${symbol} counters`).toEqual(sums(trades));
}

const STEPS = ['liveRange', 'candleMarks', 'minuteTrades', 'addCounters', 'upsertCandle'] as const;

/** The store, failing the `failAt`-th step call for `symbol`: before it runs, or after it ran (timeout). */
function failingStore(symbol: string, failAt: number, after: boolean): MarketStore {
  let n = 0;
  return new Proxy(ks.store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      if (!(STEPS as readonly (string | symbol)[]).includes(prop)) return v.bind(target);
      return async (...args: unknown[]) => {
        if (args[0] !== symbol) return v.apply(target, args);
        const i = n++;
        if (i === failAt && !after)
          throw pipelineError('STORE_UNAVAILABLE', `injected before ${String(prop)}`);
        const out = await v.apply(target, args);
        if (i === failAt && after) throw pipelineError('STORE_TIMEOUT', `injected after ${String(prop)}`);
        return out;
      };
    },
  });
}

describe('minute-finalizer faults on the real Cassandra', () => {
  it.each(
    STEPS.flatMap((step, i) => [
      { step, i, when: 'before', after: false },
      { step, i, when: 'after', after: true },
    ]),
  )('a store failure $when step $i ($step) heals on the next run', async ({ i, after }) => {
    const symbol = `F${i}${after ? 'A' : 'B'}`;
    clock = M0 + 2 * MINUTE_MS + 11_000;
    const first = batch(symbol, [
      { p: 100, t: M0 + 1000, v: 0.5 },
      { p: 101, t: M0 + 2000, v: 0.25 },
    ]);
    await deliver(first);
    await finalizer().run();
    // A late trade stored but never counted (its minute-window delivery was lost): the next run must both
    // re-finalize the candle and correct the counters, which is every step.
    const late = batch(symbol, [{ p: 90, t: M0 + 3000, v: 2 }]);
    await deliver(late, { window: false });
    await finalizer(failingStore(symbol, i, after))
      .run()
      .catch(() => undefined);
    await finalizer().run();
    await expectExact(symbol, M0, [...first.trades, ...late.trades]);
    // Settled: another run has nothing left to do for it.
    expect(await finalizer().run()).toMatchObject({ finalized: 0, refinalized: 0, corrected: 0 });
  });

  it('a correction applied twice (two runs at once without a lease) is undone by the next run', async () => {
    const symbol = 'TWICE';
    clock = M0 + 2 * MINUTE_MS + 11_000;
    const ev = batch(symbol, [{ p: 50, t: M0 + 5000, v: 1 }]);
    await deliver(ev);
    await finalizer().run();
    // What a second, overlapping run would do: the same difference again, after the mark was written.
    await ks.store.addCounters(
      symbol,
      new Map([
        [M0, { trades: 1n, volumeE8: 100_000_000n, priceE8: 5_000_000_000n, notionalE6: 50_000_000n }],
      ]),
      false,
    );
    await finalizer().run();
    await expectExact(symbol, M0, ev.trades);
  });

  it('two finalizer processes started at once: one runs, the other finds the lease taken', async () => {
    const symbol = 'CONC';
    clock = M0 + 2 * MINUTE_MS + 11_000;
    const ev = batch(symbol, [{ p: 10, t: M0 + 1000, v: 1 }]);
    await deliver(ev, { window: false });
    await deliver(batch(symbol, [{ p: 11, t: M0 + 2000, v: 1 }]), { writer: false });
    // Slow trade reads make the two runs overlap for sure.
    const slow = new Proxy(ks.store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        if (prop !== 'minuteTrades') return v.bind(target);
        return async (...args: unknown[]) => {
          await new Promise((r) => setTimeout(r, 300));
          return v.apply(target, args);
        };
      },
    });
    const results = await Promise.all([finalizer(slow, 'proc-a').run(), finalizer(slow, 'proc-b').run()]);
    expect(results.filter((r) => r === null)).toHaveLength(1);
    await expectExact(symbol, M0, ev.trades);
    expect(await finalizer().run()).toMatchObject({ corrected: 0 });
  });

  it('keeps its in-process guard until every worker has stopped, even when one failed', async () => {
    clock = M0 + 2 * MINUTE_MS + 11_000;
    await deliver(batch('GUARD_FAIL', [{ p: 1, t: M0 + 1000, v: 1 }]), { window: false });
    await deliver(batch('GUARD_SLOW', [{ p: 2, t: M0 + 1000, v: 1 }]), { window: false });
    let failed!: () => void;
    const failedNow = new Promise<void>((r) => {
      failed = r;
    });
    let slowDone = false;
    const store = new Proxy(ks.store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        if (prop !== 'minuteTrades') return v.bind(target);
        return async (...args: unknown[]) => {
          if (args[0] === 'GUARD_FAIL') {
            failed();
            throw pipelineError('STORE_UNAVAILABLE', 'injected');
          }
          if (args[0] === 'GUARD_SLOW') {
            await new Promise((r) => setTimeout(r, 1000));
            slowDone = true;
          }
          return v.apply(target, args);
        };
      },
    });
    const f = finalizer(store);
    const first = f.run();
    first.catch(() => undefined);
    await failedNow;
    await new Promise((r) => setTimeout(r, 50));
    // The slow worker is still writing: a second run now would correct the same minutes twice.
    expect(slowDone).toBe(false);
    expect(await f.run()).toBeNull();
    await expect(first).rejects.toThrow(/injected/);
    expect(slowDone).toBe(true);
    await finalizer().run();
  });
});

describe('minutes at the edges on the real Cassandra', () => {
  it('a trade the writers accept at the edge of the window reaches its candle although the window moved on', async () => {
    const symbol = 'EDGE';
    const m = M0 + 10 * MINUTE_MS;
    clock = m + 2 * MINUTE_MS;
    const early = batch(symbol, [{ p: 20, t: m + 1000, v: 1 }]);
    await deliver(early);
    await finalizer().run();
    // A run just before the late trade, then the trade at the very edge of the writers' window, then the
    // next run 70 s later, when the window (whole minutes) has moved past the trade's minute.
    const t1 = m + settings.finalizeHorizonS * 1000;
    clock = t1 - 1000;
    await finalizer().run();
    clock = t1;
    const late = batch(symbol, [{ p: 25, t: m + 2000, v: 3 }]);
    await deliver(late);
    clock = t1 + 70_000;
    await finalizer().run();
    await expectExact(symbol, m, [...early.trades, ...late.trades]);
  });

  it('a minute whose counters moved but whose trade rows are all missing gets its counters zeroed', async () => {
    const symbol = 'NOROWS';
    clock = M0 + 2 * MINUTE_MS + 11_000;
    const ev = batch(symbol, [{ p: 7, t: M0 + 1000, v: 1 }]);
    // Counted by minute-window, but trade-writer's delivery was dead-lettered.
    await deliver(ev, { writer: false });
    await ks.store.touchSymbol(symbol, M0 + 1000);
    await finalizer().run();
    expect(await candle(symbol, M0)).toBeNull();
    expect(await counters(symbol, M0)).toEqual([0n, 0n, 0n, 0n]);
    // The dead letter replayed later: stored, counted once (the claim holds), finalized.
    await deliver(ev);
    await finalizer().run();
    await expectExact(symbol, M0, ev.trades);
  });

  it.each([
    { age: '5 h (past the window, counters alive)', ageMs: 5 * HOUR_MS, counted: true },
    { age: '3 days (counters deleted)', ageMs: 3 * 86_400_000, counted: false },
  ])(
    'a trade $age old, stored late (e.g. a replayed dead letter), reaches its candle',
    async ({ ageMs, counted }) => {
      const symbol = `OLD${counted ? 'C' : 'X'}`;
      const m = M0 + 20 * MINUTE_MS;
      clock = m + 2 * MINUTE_MS;
      const first = batch(symbol, [{ p: 30, t: m + 1000, v: 1 }]);
      await deliver(first);
      await finalizer().run();
      clock = m + ageMs;
      const replayed = batch(symbol, [{ p: 31, t: m + 5000, v: 2 }]);
      await deliver(replayed);
      await deliver(replayed); // at-least-once: replayed twice
      const summary = await finalizer().run();
      expect(summary).toMatchObject({ requests: 1 });
      const { vwap: _v, ...want } = expectedCandle([...first.trades, ...replayed.trades]);
      expect(await candle(symbol, m)).toEqual(want);
      if (counted) expect(await counters(symbol, m)).toEqual(sums([...first.trades, ...replayed.trades]));
      // The request is gone: nothing left to do.
      expect(await finalizer().run()).toMatchObject({ requests: 0 });
    },
  );
});
