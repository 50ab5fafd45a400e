/**
 * Issue 15 item 1 on the real Cassandra: a replay of five hours of simulated time (across a UTC midnight) for
 * two symbols through trade-writer, minute-window and minute-finalizer with its roll-up hook, with late trades
 * inside the finalizer's window (re-finalized by their `writes` mark) and beyond it (finalize requests). Every
 * stored 1m / 5m / 15m / 1h / 1d candle must equal the candle this test computes straight from the trades it
 * sent, with its own BigInt code (no shared aggregation code), and no bucket may be missing or extra.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../dev/replay-feed/market.ts';
import { minuteFinalizer } from '../functions/minute-finalizer/handler.ts';
import { rollupAfterMinute } from '../functions/minute-finalizer/rollups.ts';
import { minuteWindow } from '../functions/minute-window/handler.ts';
import { tradeWriter } from '../functions/trade-writer/handler.ts';
import { RollupStore } from '../shared/cassandra/rollup-store.ts';
import type { Trade } from '../shared/contract/types.ts';
import { createTestKeyspace, type TestKeyspace } from './cassandra.ts';
import { allMetrics, batch, quietLog } from './market-fixtures.ts';

const MIN = 60_000;
const START = Date.UTC(2026, 10, 20, 21, 30);
const END = START + 5 * 60 * MIN; // 02:30 the next day: two daily candles, both partial
const STEP = 20 * MIN;
const SYMBOLS = ['BINANCE:BTCUSDT', 'ROLL:ETH'] as const;
const settings = { finalizeLatenessS: 10, finalizeHorizonS: 3 * 3600, counterRetentionS: 86400 };
const SPANS = { '1m': 1, '5m': 5, '15m': 15, '1h': 60, '1d': 1440 } as const;

interface Sent {
  readonly t: number;
  readonly eventId: string;
  readonly idx: number;
  readonly p: number;
  readonly v: number;
}

let ks: TestKeyspace;
beforeAll(async () => {
  ks = await createTestKeyspace('mp_rollup');
});
afterAll(async () => ks?.drop());

/** Trades of one symbol for minutes [from, to): 0-2 per minute, prices on a walk, 1 in 10 of volume 0. */
function tradesFor(rand: () => number, base: number, from: number, to: number) {
  const out: Omit<Trade, 's' | 'c'>[] = [];
  let p = base;
  for (let m = from; m < to; m += MIN) {
    const n = Math.floor(rand() * 3);
    for (let i = 0; i < n; i++) {
      p = Math.round((p + (rand() - 0.5) * base * 0.002) * 100) / 100;
      const v = rand() < 0.1 ? 0 : Math.round(rand() * 3 * 1e8) / 1e8;
      out.push({ t: m + Math.floor(rand() * MIN), p, v });
    }
  }
  return out.sort((a, b) => a.t - b.t);
}

/** The expected candle of each bucket, computed here from the sent trades (BigInt sums, identity order). */
function expected(sent: readonly Sent[], spanMin: number) {
  const span = spanMin * MIN;
  const buckets = new Map<number, Sent[]>();
  for (const s of sent) {
    const b = s.t - (s.t % span);
    buckets.set(b, [...(buckets.get(b) ?? []), s]);
  }
  const out = new Map<number, Record<string, unknown>>();
  for (const [b, list] of buckets) {
    list.sort(
      (x, y) => x.t - y.t || (x.eventId < y.eventId ? -1 : x.eventId > y.eventId ? 1 : x.idx - y.idx),
    );
    let vol = 0n;
    let px = 0n;
    let notional = 0n;
    for (const s of list) {
      const v8 = BigInt(Math.round(s.v * 1e8));
      const p8 = BigInt(Math.round(s.p * 1e8));
      vol += v8;
      px += p8;
      notional += (p8 * v8 + 5_000_000_000n) / 10_000_000_000n;
    }
    // VWAP = (notional / 1e6) / (volume / 1e8), rounded half up to 1e-8.
    const vwap = vol > 0n ? Number((notional * 100n * 100_000_000n * 2n + vol) / (2n * vol)) / 1e8 : null;
    out.set(b, {
      open: list[0]!.p,
      high: Math.max(...list.map((s) => s.p)),
      low: Math.min(...list.map((s) => s.p)),
      close: list[list.length - 1]!.p,
      trades: String(list.length),
      volume_e8: String(vol),
      price_e8: String(px),
      notional_e6: String(notional),
      volume: Number(vol) / 1e8,
      vwap: spanMin === 1 ? 'skip' : vwap,
      first_trade_time: list[0]!.t,
      last_trade_time: list[list.length - 1]!.t,
      minutes: spanMin === 1 ? 'skip' : new Set(list.map((s) => s.t - (s.t % MIN))).size,
    });
  }
  return out;
}

describe('candles at 5m, 15m, 1h and 1d rolled up from the finalized minutes', () => {
  it('equal the candles computed from the trades after a five-hour replay with late trades', async () => {
    let clock = START;
    const now = () => clock;
    const metrics = allMetrics();
    const writer = tradeWriter({
      store: ks.store,
      mode: 'batch',
      ...settings,
      metrics,
      now,
      symbolRefreshMs: 0,
    });
    const window = minuteWindow({ store: ks.store, ...settings, metrics, now });
    const finalizer = minuteFinalizer({
      store: ks.store,
      ...settings,
      tradeTtlS: 7 * 86400,
      metrics,
      now,
      afterMinute: rollupAfterMinute({
        rollups: new RollupStore(ks.client),
        requestFinalize: (s, m, o) => ks.store.requestFinalize(s, m, o),
      }),
    });
    const sent = new Map<string, Sent[]>(SYMBOLS.map((s) => [s, []]));
    const rand = prng(20261120);
    const send = async (symbol: string, trades: Omit<Trade, 's' | 'c'>[]) => {
      // Events of 1-4 trades, as the bridge batches a frame.
      for (let i = 0; i < trades.length; ) {
        const n = 1 + Math.floor(rand() * 4);
        const ev = batch(symbol, trades.slice(i, i + n), clock);
        i += n;
        await writer.handle(ev, { log: quietLog });
        await window.handle(ev, { log: quietLog });
        ev.trades.forEach((t, idx) => {
          sent.get(symbol)!.push({ t: t.t, eventId: ev.id, idx, p: t.p, v: t.v });
        });
      }
    };
    const bases = { 'BINANCE:BTCUSDT': 91_000, 'ROLL:ETH': 3_000 };
    let refinalized = 0;
    let requests = 0;
    for (let from = START; from < END; from += STEP) {
      clock = from + STEP + 11_000;
      for (const symbol of SYMBOLS) {
        await send(symbol, tradesFor(rand, bases[symbol], from, from + STEP));
        if (from - START >= 2 * 60 * MIN && (from - START) % (60 * MIN) === 0) {
          // Late, inside the window (about 1 h 30 old): the minute's mark moves, the next run re-finalizes it.
          const late = from - 90 * MIN;
          await send(symbol, tradesFor(rand, bases[symbol], late, late + 3 * MIN));
        }
      }
      const summary = await finalizer.run();
      refinalized += summary?.refinalized ?? 0;
    }
    // Beyond the window (over 3 h old): trade-writer files finalize requests, the finalizer serves them.
    clock = END + 11_000;
    for (const symbol of SYMBOLS) {
      await send(symbol, tradesFor(rand, bases[symbol], START + 4 * MIN, START + 7 * MIN));
      await send(symbol, tradesFor(rand, bases[symbol], START + 150 * MIN, START + 151 * MIN));
    }
    requests += (await finalizer.run())?.requests ?? 0;
    expect(refinalized).toBeGreaterThan(0);
    expect(requests).toBeGreaterThan(0);

    for (const symbol of SYMBOLS) {
      for (const [res, spanMin] of Object.entries(SPANS)) {
        const want = expected(sent.get(symbol)!, spanMin);
        const rs = await ks.client.execute(
          `SELECT minute, open, high, low, close, trades, volume_e8, price_e8, notional_e6, volume, ${
            spanMin === 1 ? '' : 'vwap, minutes, '
          }first_trade_time, last_trade_time FROM candles_${res} WHERE symbol = ?`,
          [symbol],
          { prepare: true },
        );
        const got = new Map(
          rs.rows.map((r) => [
            (r.minute as Date).getTime(),
            {
              open: r.open,
              high: r.high,
              low: r.low,
              close: r.close,
              trades: String(r.trades),
              volume_e8: String(r.volume_e8),
              price_e8: String(r.price_e8),
              notional_e6: String(r.notional_e6),
              volume: r.volume,
              vwap: spanMin === 1 ? 'skip' : r.vwap,
              first_trade_time: (r.first_trade_time as Date).getTime(),
              last_trade_time: (r.last_trade_time as Date).getTime(),
              minutes: spanMin === 1 ? 'skip' : r.minutes,
            },
          ]),
        );
        const at = `${symbol} ${res}`;
        expect([...got.keys()].sort(), at).toEqual([...want.keys()].sort());
        for (const [b, w] of want) expect(got.get(b), `${at} ${new Date(b).toISOString()}`).toEqual(w);
      }
      expect(
        (await ks.client.execute('SELECT minute FROM candles_1d WHERE symbol = ?', [symbol])).rows.length,
      ).toBe(2);
    }
  }, 300_000);
});
