import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKeyspace, type TestKeyspace } from '../../test/cassandra.ts';
import { dayOf, hourOf, tradeBucketOf } from '../market/time.ts';
import { WIDEST_TRADE } from './market-store.ts';
import { loadMigrations, MigrationError, migrate } from './migrate.ts';

let ks: TestKeyspace;
beforeAll(async () => {
  ks = await createTestKeyspace('mp_schema');
});
afterAll(async () => ks?.drop());

/** The activity lines of a query trace (written asynchronously: read until the read's own line is there). */
async function traceActivities(traceId: unknown): Promise<string[]> {
  for (let i = 0; i < 50; i++) {
    // system_traces has replication factor 2: on one node only consistency ONE can read it.
    const rs = await ks.client.execute(
      'SELECT activity FROM system_traces.events WHERE session_id = ?',
      [traceId],
      {
        prepare: true,
        consistency: cassandra.types.consistencies.one,
      },
    );
    const lines = rs.rows.map((r) => String(r.activity));
    if (lines.some((a) => a.includes('tombstone cells'))) return lines;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no read activity in the trace');
}

async function schemaSnapshot(): Promise<string> {
  const tables = await ks.client.execute(
    'SELECT table_name, default_time_to_live, compaction, gc_grace_seconds FROM system_schema.tables WHERE keyspace_name = ?',
    [ks.keyspace],
  );
  const columns = await ks.client.execute(
    'SELECT table_name, column_name, kind, type, clustering_order, position FROM system_schema.columns WHERE keyspace_name = ?',
    [ks.keyspace],
  );
  return JSON.stringify({ tables: tables.rows, columns: columns.rows });
}

describe('CQL migrations on the real Cassandra', () => {
  it('apply twice without error and leave the same schema', async () => {
    const before = await schemaSnapshot();
    const again = await migrate(ks.client, {
      keyspace: ks.keyspace,
      replication: { class: 'SimpleStrategy', factors: { replication_factor: 1 } },
    });
    expect(again.applied).toEqual([]);
    expect(again.skipped).toEqual(loadMigrations().map((m) => m.version));
    expect(await schemaSnapshot()).toBe(before);
    expect(before).toContain('"table_name":"trades"');
    expect(before).toContain('TimeWindowCompactionStrategy');
  });

  it('trades_10s merges 32 sstables at a time inside its TWCS day window (migration 006)', async () => {
    const rs = await ks.client.execute(
      'SELECT compaction FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
      [ks.keyspace, 'trades_10s'],
    );
    expect(rs.first()?.get('compaction')).toMatchObject({
      class: 'org.apache.cassandra.db.compaction.TimeWindowCompactionStrategy',
      compaction_window_unit: 'DAYS',
      compaction_window_size: '1',
      min_threshold: '32',
      max_threshold: '32',
    });
  });

  it('refuses an applied migration whose file changed', async () => {
    const [first, ...rest] = loadMigrations();
    const tampered = { ...first!, checksum: 'deadbeefdeadbeef' };
    await expect(
      migrate(ks.client, {
        keyspace: ks.keyspace,
        replication: { class: 'SimpleStrategy', factors: { replication_factor: 1 } },
        migrations: [tampered, ...rest],
      }),
    ).rejects.toBeInstanceOf(MigrationError);
  });

  it("claims an event once per delivery: a re-run of the same claim is its own, another delivery's is not", async () => {
    const token = cassandra.types.Uuid.random();
    expect(await ks.store.claimEvent('CLAIM1', token)).toBe(true);
    // What Cassandra's own re-run of the conditional insert finds: the row of its first round.
    expect(await ks.store.claimEvent('CLAIM1', token)).toBe(true);
    // A redelivery is another call, with another token.
    expect(await ks.store.claimEvent('CLAIM1')).toBe(false);
    await ks.store.releaseEvent('CLAIM1');
    expect(await ks.store.claimEvent('CLAIM1')).toBe(true);
  });

  it('stores a trade once however often it is written, and keeps same-millisecond trades apart', async () => {
    const t = Date.UTC(2026, 10, 22, 10, 0, 0, 123);
    const trades = [
      { s: 'BINANCE:BTCUSDT', p: 100, t, v: 1, c: null },
      { s: 'BINANCE:BTCUSDT', p: 101, t, v: 2, c: ['1'] },
    ];
    await ks.store.writeTrades('EVT1', trades, t + 5, 'batch');
    await ks.store.writeTrades('EVT1', trades, t + 5, 'concurrent');
    const rows = await ks.store.minuteTrades('BINANCE:BTCUSDT', Date.UTC(2026, 10, 22, 10, 0, 0, 0));
    expect(rows.map((r) => [r.eventId, r.idx, r.price])).toEqual([
      ['EVT1', 0, 100],
      ['EVT1', 1, 101],
    ]);
    const seconds = await ks.client.execute(
      'SELECT second, trade_time, price FROM price_seconds WHERE symbol = ? AND day = ?',
      ['BINANCE:BTCUSDT', new Date(Date.UTC(2026, 10, 22))],
    );
    expect(seconds.rows.map((r) => [(r.second as Date).getTime(), r.price])).toEqual([[t - 123, 101]]);
  });

  it('writes a trade without a tombstone: conditions is a frozen list (one cell)', async () => {
    const col = await ks.client.execute(
      "SELECT type FROM system_schema.columns WHERE keyspace_name = ? AND table_name = 'trades_10s' AND column_name = 'conditions'",
      [ks.keyspace],
    );
    expect(col.rows[0]?.type).toBe('frozen<list<text>>');
    const t = Date.UTC(2026, 10, 22, 11, 0, 0, 5);
    await ks.store.writeTrades('EVT-C', [{ s: 'X:C', p: 1, t, v: 1, c: ['1', '8'] }], t, 'batch');
    const rs = await ks.client.execute('SELECT conditions FROM trades_10s WHERE symbol = ? AND bucket = ?', [
      'X:C',
      new Date(tradeBucketOf(t)),
    ]);
    expect(rs.rows.map((r) => r.conditions)).toEqual([['1', '8']]);
  });

  it('writes a trade without conditions or receive time with no tombstone cell (they are left unset)', async () => {
    // A bound null is a tombstone cell in every row: twice the cells to flush and compact, and the
    // "Read N live rows and N tombstone cells" warnings a read of a busy bucket logged.
    const t = Date.UTC(2026, 10, 22, 11, 30, 0, 5);
    await ks.store.writeTrades('EVT-N', [{ s: 'X:NULL', p: 1, t, v: 1, c: null }], Number.NaN, 'batch');
    const rs = await ks.client.execute(
      'SELECT conditions, received_at FROM trades_10s WHERE symbol = ? AND bucket = ?',
      ['X:NULL', new Date(tradeBucketOf(t))],
      { prepare: true, traceQuery: true },
    );
    expect(rs.rows.map((r) => [r.conditions, r.received_at])).toEqual([[null, null]]);
    const activity = await traceActivities(rs.info.traceId);
    const read = activity.find((a) => /live rows and \d+ tombstone cells/.test(a));
    expect(read).toMatch(/Read 1 live rows and 0 tombstone cells/);
  });

  it('writes the largest event the contract allows (500 widest trades) without "Batch too large"', async () => {
    const t0 = Date.UTC(2026, 10, 22, 11, 40, 0, 0);
    const symbol = WIDEST_TRADE.s;
    const widest = Array.from({ length: 500 }, (_x, i) => ({ ...WIDEST_TRADE, p: 1 + i, t: t0 + i * 7 }));
    await ks.store.writeTrades('E'.repeat(40), widest, t0, 'batch');
    const rows = await ks.store.minuteTrades(symbol, Date.UTC(2026, 10, 22, 11, 40, 0, 0));
    expect(rows).toHaveLength(500);
  });

  it('keeps the newest trade of a second whatever order its events arrive in', async () => {
    const sec = Date.UTC(2026, 10, 22, 12, 0, 7, 0);
    const newer = [{ s: 'X:ORDER', p: 2, t: sec + 900, v: 1, c: null }];
    const older = [{ s: 'X:ORDER', p: 1, t: sec + 100, v: 1, c: null }];
    await ks.store.writeTrades('EVT-NEW', newer, sec + 950, 'batch');
    await ks.store.writeTrades('EVT-OLD', older, sec + 990, 'batch'); // arrives later, is older
    await ks.store.writeTrades('EVT-NEW', newer, sec + 999, 'batch'); // a redelivery
    const rs = await ks.client.execute(
      'SELECT second, trade_time, price FROM price_seconds WHERE symbol = ? AND day = ?',
      ['X:ORDER', new Date(dayOf(sec))],
    );
    expect(
      rs.rows.map((r) => [(r.second as Date).getTime(), (r.trade_time as Date).getTime(), r.price]),
    ).toEqual([[sec, sec + 900, 2]]);
  });

  it('reads a minute from the pre-004 `trades` table too, once per trade', async () => {
    const minute = Date.UTC(2026, 10, 22, 13, 0, 0, 0);
    const legacy =
      'INSERT INTO trades (symbol, hour, trade_time, event_id, idx, price, volume, conditions) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';
    for (const [ev, idx, dt, p] of [
      ['OLD', 0, 1_000, 10],
      ['BOTH', 0, 2_000, 11],
    ] as const) {
      await ks.client.execute(
        legacy,
        ['X:LEGACY', new Date(hourOf(minute)), new Date(minute + dt), ev, idx, p, 1, null],
        { prepare: true },
      );
    }
    await ks.store.writeTrades(
      'BOTH',
      [{ s: 'X:LEGACY', p: 11, t: minute + 2_000, v: 1, c: null }],
      minute,
      'batch',
    );
    await ks.store.writeTrades(
      'NEW',
      [{ s: 'X:LEGACY', p: 12, t: minute + 45_000, v: 1, c: null }],
      minute,
      'batch',
    );
    const rows = await ks.store.minuteTrades('X:LEGACY', minute);
    expect(rows.map((r) => [r.eventId, r.price])).toEqual([
      ['OLD', 10],
      ['BOTH', 11],
      ['NEW', 12],
    ]);
  });
});
