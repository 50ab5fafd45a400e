import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Trade } from '../../shared/contract/types.ts';
import { createTestKeyspace, type TestKeyspace } from '../../test/cassandra.ts';
import { allMetrics, batch, expectedCandle, quietLog } from '../../test/market-fixtures.ts';
import { minuteWindow } from '../minute-window/handler.ts';
import { tradeWriter } from '../trade-writer/handler.ts';
import { minuteFinalizer } from './handler.ts';

const M0 = Date.UTC(2026, 10, 22, 9, 0, 0);
let ks: TestKeyspace;
let clock = M0;
const now = () => clock;
const metrics = allMetrics();

beforeAll(async () => {
  ks = await createTestKeyspace('mp_final');
});
afterAll(async () => ks?.drop());

const settings = { finalizeLatenessS: 10, finalizeHorizonS: 3 * 3600, counterRetentionS: 86400 };

async function candle(symbol: string, minute: number) {
  const rs = await ks.client.execute(
    'SELECT open, high, low, close, trades, volume, vwap, revision FROM candles_1m WHERE symbol = ? AND minute = ?',
    [symbol, new Date(minute)],
  );
  const r = rs.rows[0];
  return (
    r && {
      open: r.open,
      high: r.high,
      low: r.low,
      close: r.close,
      trades: Number(r.trades),
      volume: r.volume,
      vwap: r.vwap,
      revision: r.revision,
    }
  );
}

async function counters(symbol: string, minute: number) {
  const rs = await ks.client.execute(
    'SELECT trades, volume_e8, price_e8, notional_e6 FROM minute_live WHERE symbol = ? AND minute = ?',
    [symbol, new Date(minute)],
  );
  const r = rs.rows[0]!;
  return [Number(r.trades), Number(r.volume_e8), Number(r.price_e8), Number(r.notional_e6)];
}

async function exactSums(symbol: string, minute: number) {
  const rs = await ks.client.execute(
    'SELECT trades, volume_e8, price_e8, notional_e6 FROM candles_1m WHERE symbol = ? AND minute = ?',
    [symbol, new Date(minute)],
  );
  const r = rs.rows[0]!;
  return [Number(r.trades), Number(r.volume_e8), Number(r.price_e8), Number(r.notional_e6)];
}

describe('trade-writer + minute-window + minute-finalizer on the real Cassandra', () => {
  const writer = () =>
    tradeWriter({
      store: ks.store,
      mode: 'batch',
      ...settings,
      metrics,
      now,
    });
  const windows = () => minuteWindow({ store: ks.store, ...settings, metrics, now });
  const finalizer = () => minuteFinalizer({ store: ks.store, ...settings, metrics, now });
  const sent: Trade[] = [];

  it('finalizes exact candles across minutes, ignoring redeliveries, and reconciles counters', async () => {
    const w = writer();
    const win = windows();
    const events = [
      batch('BTC', [
        { p: 100, t: M0 + 1000, v: 0.5 },
        { p: 101, t: M0 + 1000, v: 0.25 },
      ]),
      batch('BTC', [{ p: 99.5, t: M0 + 30_000, v: 1 }]),
      batch('BTC', [
        { p: 102, t: M0 + 59_999, v: 0 },
        { p: 103, t: M0 + 60_000, v: 2 },
      ]),
      batch('ETH', [{ p: 5, t: M0 + 61_000, v: 10 }]),
    ];
    clock = M0 + 61_500;
    for (const ev of events) {
      sent.push(...ev.trades);
      await w.handle(ev, { log: quietLog });
      await win.handle(ev, { log: quietLog });
      // Redelivered: rows rewrite themselves, counters must not move.
      await w.handle(ev, { log: quietLog });
      await win.handle(ev, { log: quietLog });
    }
    expect(await counters('BTC', M0)).toEqual([
      4,
      Math.round(1.75e8),
      Math.round((100 + 101 + 99.5 + 102) * 1e8),
      Math.round((50 + 25.25 + 99.5) * 1e6),
    ]);

    clock = M0 + 2 * 60_000 + 11_000;
    const summary = await finalizer().run();
    expect(summary).toMatchObject({ finalized: 3, refinalized: 0, symbols: 2 });

    const btc0 = sent.filter((t) => t.s === 'BTC' && t.t < M0 + 60_000);
    expect(await candle('BTC', M0)).toMatchObject({
      ...expectedCandle(btc0),
      vwap: expect.closeTo(expectedCandle(btc0).vwap!, 9),
      revision: 1,
    });
    expect(await candle('BTC', M0 + 60_000)).toMatchObject({
      ...expectedCandle(sent.filter((t) => t.t === M0 + 60_000)),
      revision: 1,
    });
    expect(await candle('ETH', M0 + 60_000)).toMatchObject({ open: 5, trades: 1, volume: 10, vwap: 5 });
    for (const [s, m] of [
      ['BTC', M0],
      ['BTC', M0 + 60_000],
      ['ETH', M0 + 60_000],
    ] as const) {
      expect(await counters(s, m)).toEqual(await exactSums(s, m));
    }
    // Nothing changed: a second run does no work.
    expect(await finalizer().run()).toMatchObject({ finalized: 0, refinalized: 0 });
  });

  it('re-finalizes a minute that receives a late trade', async () => {
    const late = batch('BTC', [{ p: 90, t: M0 + 59_000, v: 3 }]);
    sent.push(...late.trades);
    await writer().handle(late, { log: quietLog });
    await windows().handle(late, { log: quietLog });
    expect(await finalizer().run()).toMatchObject({ finalized: 0, refinalized: 1 });
    const btc0 = sent.filter((t) => t.s === 'BTC' && t.t < M0 + 60_000).sort((a, b) => a.t - b.t);
    expect(await candle('BTC', M0)).toMatchObject({
      low: 90,
      close: 102,
      trades: 5,
      volume: 4.75,
      revision: 2,
    });
    expect((await candle('BTC', M0))!.vwap).toBeCloseTo(expectedCandle(btc0).vwap!, 9);
    expect(await counters('BTC', M0)).toEqual(await exactSums('BTC', M0));
  });

  it('converges when minute-window counts an event before trade-writer stores it', async () => {
    const ev = batch('BTC', [{ p: 95, t: M0 + 10_000, v: 1 }]);
    await windows().handle(ev, { log: quietLog });
    await finalizer().run();
    // The rows are not there yet, so the exact value excludes the trade and the counters are pulled back.
    expect(await counters('BTC', M0)).toEqual(await exactSums('BTC', M0));
    await writer().handle(ev, { log: quietLog });
    await finalizer().run();
    expect(await candle('BTC', M0)).toMatchObject({ trades: 6, revision: 4 });
    expect(await counters('BTC', M0)).toEqual(await exactSums('BTC', M0));
  });
});
