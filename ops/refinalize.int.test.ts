/**
 * `npm run refinalize` as an operator runs it, on the real Cassandra: trade rows that reached the store
 * without marking their minute (restored from a backup, written by hand) get into their candle and counters
 * once the range is re-finalized.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { minuteFinalizer } from '../functions/minute-finalizer/handler.ts';
import { minuteWindow } from '../functions/minute-window/handler.ts';
import { tradeWriter } from '../functions/trade-writer/handler.ts';
import { MINUTE_MS, minuteOf } from '../shared/market/time.ts';
import { createTestKeyspace, type TestKeyspace } from '../test/cassandra.ts';
import { repoRoot } from '../test/fixtures.ts';
import { allMetrics, batch, expectedCandle, quietLog } from '../test/market-fixtures.ts';

const run = promisify(execFile);
const settings = { finalizeLatenessS: 10, finalizeHorizonS: 3 * 3600, counterRetentionS: 86400 };
const M = minuteOf(Date.now()) - 20 * MINUTE_MS;
const now = () => M + 3 * MINUTE_MS;
let ks: TestKeyspace;

beforeAll(async () => {
  ks = await createTestKeyspace('mp_refin');
});
afterAll(async () => ks?.drop());

const refinalize = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'ops/refinalize.ts', ...args], {
    cwd: repoRoot,
    env: {
      ...process.env,
      CASSANDRA_CONTACT_POINTS: inject('cassandraContactPoints').join(','),
      CASSANDRA_LOCAL_DC: inject('cassandraLocalDataCenter'),
      CASSANDRA_KEYSPACE: ks.keyspace,
    },
  });

describe('npm run refinalize', () => {
  it('files requests for a minute range; the next finalizer run makes those candles and counters exact', async () => {
    const metrics = allMetrics();
    const ev = batch('MSFT', [{ p: 400, t: M + 1000, v: 2 }]);
    await tradeWriter({ store: ks.store, mode: 'batch', ...settings, metrics, now }).handle(ev, {
      log: quietLog,
    });
    await minuteWindow({ store: ks.store, ...settings, metrics, now }).handle(ev, { log: quietLog });
    const finalizer = minuteFinalizer({ store: ks.store, ...settings, metrics, now });
    await finalizer.run();
    // Rows that arrived behind the pipeline's back: no mark moved, so no run would look at the minute.
    const restored = batch('MSFT', [{ p: 390, t: M + 2000, v: 1 }]);
    await ks.store.writeTrades(restored.id, restored.trades, restored.receivedms, 'batch');
    expect(await finalizer.run()).toMatchObject({ refinalized: 0, requests: 0 });

    await expect(refinalize('--from', 'yesterday', '--to', 'today')).rejects.toMatchObject({ code: 2 });
    const { stdout } = await refinalize(
      '--from',
      new Date(M).toISOString(),
      '--to',
      new Date(M + 2 * MINUTE_MS).toISOString(),
    );
    expect(JSON.parse(stdout)).toMatchObject({ symbols: ['MSFT'], minutes: 2, requests: 2 });
    expect(await finalizer.run()).toMatchObject({ requests: 2 });

    const rs = await ks.client.execute(
      'SELECT open, high, low, close, trades, volume, revision FROM candles_1m WHERE symbol = ? AND minute = ?',
      ['MSFT', new Date(M)],
      { prepare: true },
    );
    const { vwap: _v, ...want } = expectedCandle([...ev.trades, ...restored.trades]);
    const r = rs.rows[0]!;
    expect({
      open: r.open,
      high: r.high,
      low: r.low,
      close: r.close,
      trades: Number(r.trades),
      volume: r.volume,
    }).toEqual(want);
    expect(r.revision).toBe(2);
    const live = (await ks.store.liveRow('MSFT', M))!;
    expect([live.trades, live.volumeE8]).toEqual([2n, 300_000_000n]);
    expect(await ks.store.finalizeRequests()).toEqual([]);
  });
});
