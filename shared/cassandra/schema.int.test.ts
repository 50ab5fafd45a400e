import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKeyspace, type TestKeyspace } from '../../test/cassandra.ts';
import { loadMigrations, MigrationError, migrate } from './migrate.ts';

let ks: TestKeyspace;
beforeAll(async () => {
  ks = await createTestKeyspace('mp_schema');
});
afterAll(async () => ks?.drop());

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
    const ticks = await ks.client.execute('SELECT count(*) AS n FROM ticks WHERE symbol = ?', [
      'BINANCE:BTCUSDT',
    ]);
    expect(Number(ticks.rows[0]!.n)).toBe(2);
  });
});
