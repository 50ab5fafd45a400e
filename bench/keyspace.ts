import type cassandra from 'cassandra-driver';
import type { Runtime } from '../dev/runtime/runtime.ts';
import { createCassandraClient } from '../shared/cassandra/client.ts';
import { loadCassandraConfig } from '../shared/cassandra/config.ts';
import { migrate } from '../shared/cassandra/migrate.ts';

/** A freshly migrated keyspace of its own for one bench part; `drop()` removes it and closes the client. */
export async function benchKeyspace(
  runtime: Runtime,
  prefix: string,
): Promise<{ keyspace: string; client: cassandra.Client; drop(): Promise<void> }> {
  const keyspace = `${prefix}_${Date.now().toString(36)}`;
  const client = createCassandraClient(
    loadCassandraConfig({
      CASSANDRA_CONTACT_POINTS: runtime.cassandra.contactPoints.join(','),
      CASSANDRA_LOCAL_DC: runtime.cassandra.localDataCenter,
      CASSANDRA_KEYSPACE: keyspace,
      CASSANDRA_REQUEST_TIMEOUT_MS: '30000',
    }),
    { withoutKeyspace: true },
  );
  await migrate(client, {
    keyspace,
    replication: { class: 'SimpleStrategy', factors: { replication_factor: 1 } },
  });
  return {
    keyspace,
    client,
    async drop() {
      await client.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`);
      await client.shutdown();
    },
  };
}
