import { randomUUID } from 'node:crypto';
import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { probeKafka } from './kafka.ts';

describe('the runtime the global setup provides', () => {
  let client: cassandra.Client;
  const keyspace = `it_runtime_${randomUUID().replace(/-/g, '').slice(0, 12)}`;

  beforeAll(async () => {
    client = new cassandra.Client({
      contactPoints: inject('cassandraContactPoints'),
      localDataCenter: inject('cassandraLocalDataCenter'),
    });
    await client.connect();
  });

  afterAll(async () => {
    await client?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    await client?.shutdown();
  });

  it('is Cassandra 5.0', async () => {
    const rs = await client.execute('SELECT release_version FROM system.local');
    expect(String(rs.first()?.get('release_version'))).toMatch(/^5\.0\./);
  });

  it('creates a keyspace, writes and reads a row, drops the keyspace', async () => {
    await client.execute(
      `CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
    );
    await client.execute(
      `CREATE TABLE ${keyspace}.t (symbol text, ts timestamp, price decimal, PRIMARY KEY (symbol, ts))`,
    );
    const ts = new Date('2024-01-01T00:00:00.123Z');
    await client.execute(
      `INSERT INTO ${keyspace}.t (symbol, ts, price) VALUES (?, ?, ?)`,
      ['BINANCE:BTCUSDT', ts, cassandra.types.BigDecimal.fromString('42123.45')],
      { prepare: true },
    );
    const rs = await client.execute(
      `SELECT symbol, ts, price FROM ${keyspace}.t WHERE symbol = ?`,
      ['BINANCE:BTCUSDT'],
      {
        prepare: true,
      },
    );
    expect(rs.rows).toHaveLength(1);
    expect(rs.rows[0]?.get('ts')).toEqual(ts);
    expect(rs.rows[0]?.get('price').toString()).toBe('42123.45');
    await client.execute(`DROP KEYSPACE ${keyspace}`);
    const left = await client.execute(
      'SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?',
      [keyspace],
    );
    expect(left.rows).toHaveLength(0);
  });

  it('answers Kafka metadata on the provided brokers', async () => {
    await expect(probeKafka(inject('kafkaBrokers'))).resolves.toBeUndefined();
  });
});
