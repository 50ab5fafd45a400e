import type cassandra from 'cassandra-driver';
import { inject } from 'vitest';
import { createCassandraClient } from '../shared/cassandra/client.ts';
import { type CassandraConfig, loadCassandraConfig } from '../shared/cassandra/config.ts';
import { MarketStore } from '../shared/cassandra/market-store.ts';
import { migrate } from '../shared/cassandra/migrate.ts';
import { uniqueName } from './fixtures.ts';

/** Cassandra settings of the runtime the global setup started, with the given keyspace. */
export function testCassandraConfig(keyspace: string): CassandraConfig {
  return loadCassandraConfig({
    CASSANDRA_CONTACT_POINTS: inject('cassandraContactPoints').join(','),
    CASSANDRA_LOCAL_DC: inject('cassandraLocalDataCenter'),
    CASSANDRA_KEYSPACE: keyspace,
    // Schema changes (a test keyspace's migrations) queue behind the chaos and load tests running beside
    // them on two cores: CI saw 20 s run out in a beforeAll twice. A test client may wait longer.
    CASSANDRA_REQUEST_TIMEOUT_MS: '90000',
  });
}

export interface TestKeyspace {
  readonly keyspace: string;
  readonly config: CassandraConfig;
  readonly client: cassandra.Client;
  readonly store: MarketStore;
  drop(): Promise<void>;
}

/** A fresh, migrated keyspace with a random name; `drop()` removes it. */
export async function createTestKeyspace(prefix = 'mp_test'): Promise<TestKeyspace> {
  const keyspace = uniqueName(prefix);
  const config = testCassandraConfig(keyspace);
  const client = createCassandraClient(config, { withoutKeyspace: true, applicationName: 'test' });
  await migrate(client, {
    keyspace,
    replication: { class: 'SimpleStrategy', factors: { replication_factor: 1 } },
  });
  const store = new MarketStore(client, { tradeTtlS: 3600, appliedEventTtlS: 3600 });
  return {
    keyspace,
    config,
    client,
    store,
    async drop() {
      await client.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`);
      await client.shutdown();
    },
  };
}
