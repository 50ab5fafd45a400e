/**
 * Issue 12 item 6 on the real Cassandra: 300,000 trades in one minute at about $100,000 with 8-decimal volumes.
 * minute-window counts them event by event into the live counters, the finalizer computes the candle; both
 * must equal an independent BigInt computation, and the finalizer must write no correction (with sums added
 * as JS numbers, both went inexact past 2^53 and the finalizer "corrected" exact counters).
 *
 * The 300,000 trade rows are served to the finalizer from memory: storing them would take minutes of the
 * shared CI machine and is not what is under test (trade-writer's storage has its own tests); counters,
 * candle, marks and lease are the real Cassandra's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTradeBatchEvent } from '../../shared/contract/event.ts';
import { compareIdentity, type TradeRow } from '../../shared/market/aggregate.ts';
import { MINUTE_MS } from '../../shared/market/time.ts';
import { createTestKeyspace, type TestKeyspace } from '../../test/cassandra.ts';
import { hugeMinute } from '../../test/huge-minute.ts';
import { allMetrics, quietLog } from '../../test/market-fixtures.ts';
import { minuteWindow } from '../minute-window/handler.ts';
import { type FinalizerStore, minuteFinalizer } from './handler.ts';

const M0 = Date.UTC(2026, 10, 24, 9, 0, 0);
const settings = { finalizeLatenessS: 10, finalizeHorizonS: 3 * 3600, counterRetentionS: 86400 };
const EVENT_TRADES = 1_000;
let ks: TestKeyspace;

beforeAll(async () => {
  ks = await createTestKeyspace('mp_exact');
});
afterAll(async () => ks?.drop());

const asBig = (v: unknown) => BigInt(String(v));

describe('64-bit exact sums at 300,000 trades in one minute', () => {
  it('live counters and the candle equal the independent BigInt sums, and no correction is written', async () => {
    const { trades, expected } = hugeMinute(20_261_124, 300_000, M0);
    const clock = M0 + 2 * MINUTE_MS + 11_000;
    const metrics = allMetrics();
    const win = minuteWindow({ store: ks.store, ...settings, metrics, now: () => clock });
    const rows: TradeRow[] = [];
    const events = [];
    for (let i = 0; i < trades.length; i += EVENT_TRADES) {
      const ev = buildTradeBatchEvent({
        symbol: 'HUGE',
        trades: trades.slice(i, i + EVENT_TRADES),
        receivedAtMs: clock,
      });
      events.push(ev);
      ev.trades.forEach((t, idx) => {
        rows.push({ tradeTime: t.t, eventId: ev.id, idx, price: t.p, volume: t.v });
      });
    }
    for (let i = 0; i < events.length; i += 8) {
      await Promise.all(events.slice(i, i + 8).map((ev) => win.handle(ev, { log: quietLog })));
    }
    rows.sort(compareIdentity);

    const live = async () => {
      const rs = await ks.client.execute(
        'SELECT trades, volume_e8, price_e8, notional_e6 FROM minute_live WHERE symbol = ? AND minute = ?',
        ['HUGE', new Date(M0)],
        { prepare: true },
      );
      const r = rs.rows[0]!;
      return {
        trades: asBig(r.trades),
        volumeE8: asBig(r.volume_e8),
        priceE8: asBig(r.price_e8),
        notionalE6: asBig(r.notional_e6),
      };
    };
    expect(await live()).toEqual(expected);

    const store: FinalizerStore = Object.create(ks.store, {
      listSymbols: { value: async () => [{ symbol: 'HUGE' }] },
      minuteTrades: { value: async (_s: string, m: number) => (m === M0 ? rows : []) },
    });
    const fin = minuteFinalizer({ store, ...settings, tradeTtlS: 7 * 86400, metrics, now: () => clock });
    const summary = await fin.run();
    expect(summary).toMatchObject({ finalized: 1, corrected: 0 });
    expect((await metrics.finalizerCorrections.get()).values.reduce((n, v) => n + v.value, 0)).toBe(0);
    expect(await live()).toEqual(expected);

    const rs = await ks.client.execute(
      'SELECT trades, volume_e8, price_e8, notional_e6 FROM candles_1m WHERE symbol = ? AND minute = ?',
      ['HUGE', new Date(M0)],
      { prepare: true },
    );
    const c = rs.rows[0]!;
    expect({
      trades: asBig(c.trades),
      volumeE8: asBig(c.volume_e8),
      priceE8: asBig(c.price_e8),
      notionalE6: asBig(c.notional_e6),
    }).toEqual(expected);
    // A second run finds nothing to do.
    expect(await fin.run()).toMatchObject({ finalized: 0, refinalized: 0, corrected: 0 });
  });
});
