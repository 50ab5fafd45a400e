import { describe, expect, it } from 'vitest';
import { toHttpBinary } from '../../shared/contract/event.ts';
import { MINUTE_MS } from '../../shared/market/time.ts';
import { createRegistry, registerMetrics } from '../../shared/observability/metrics.ts';
import { batch, quietLog } from '../../test/market-fixtures.ts';
import { TRADE_WRITER_METRICS, type TradeWriterStore, tradeWriter } from './handler.ts';

function fakeStore() {
  const calls = { rows: 0, bumped: [] as number[], requested: [] as number[], touched: [] as number[] };
  const store: TradeWriterStore = {
    writeTrades: async (_id, trades) => {
      calls.rows += trades.length;
    },
    bumpWrites: async (_s, minutes) => {
      calls.bumped.push(...minutes);
    },
    requestFinalize: async (_s, minutes) => {
      calls.requested.push(...minutes);
    },
    touchSymbol: async (_s, t) => {
      calls.touched.push(t);
    },
  };
  return { store, calls };
}

const NOW = Date.UTC(2026, 0, 5, 12, 30, 30);

describe('trade-writer handler', () => {
  const setup = () => {
    const registry = createRegistry();
    const { store, calls } = fakeStore();
    const fn = tradeWriter({
      store,
      mode: 'batch',
      finalizeHorizonS: 3600,
      finalizeLatenessS: 10,
      metrics: registerMetrics(registry, TRADE_WRITER_METRICS),
      now: () => NOW,
      symbolRefreshMs: 0,
    });
    const gauge = async () =>
      (await registry.getSingleMetric('mp_last_trade_timestamp_seconds')!.get()).values.map((v) => [
        v.labels.symbol,
        v.value,
      ]);
    return { fn, calls, gauge, registry };
  };

  it('decodes a binary-mode CloudEvent, stores every trade and marks its minute', async () => {
    const { fn, calls } = setup();
    const t = NOW - 5_000;
    const { headers, body } = toHttpBinary(
      batch('AAPL', [
        { t, p: 1, v: 1 },
        { t: t + 1, p: 2, v: 1 },
      ]),
    );
    const res = await fn.handle(fn.decode(headers, body), { log: quietLog });
    expect(res).toMatchObject({ trades: 2 });
    expect(calls.rows).toBe(2);
    expect(calls.bumped).toEqual([Math.floor(t / MINUTE_MS) * MINUTE_MS]);
    expect(calls.requested).toEqual([]);
  });

  it('files a finalize request for trades older than the finalizer window and counts them late', async () => {
    const { fn, calls, registry } = setup();
    const old = NOW - 2 * 3600_000;
    await fn.handle(batch('AAPL', [{ t: old, p: 1, v: 1 }]), { log: quietLog });
    expect(calls.requested).toEqual([Math.floor(old / MINUTE_MS) * MINUTE_MS]);
    expect(calls.bumped).toEqual([]);
    expect((await registry.getSingleMetric('mp_late_trades_total')!.get()).values[0]!.value).toBe(1);
  });

  it('reports the newest trade stored per symbol, never going back for a late batch', async () => {
    const { fn, gauge } = setup();
    await fn.handle(batch('AAPL', [{ t: NOW - 1_000, p: 1, v: 1 }]), { log: quietLog });
    await fn.handle(batch('AAPL', [{ t: NOW - 60_000, p: 1, v: 1 }]), { log: quietLog });
    await fn.handle(batch('MSFT', [{ t: NOW - 2_000, p: 1, v: 1 }]), { log: quietLog });
    expect(await gauge()).toEqual([
      ['AAPL', (NOW - 1_000) / 1000],
      ['MSFT', (NOW - 2_000) / 1000],
    ]);
  });
});
