/**
 * `npm run schema`: creates the keyspace and applies the CQL migrations. Also the command of the Kubernetes
 * schema Job. Exit codes: 0 done, 1 failed (the cause is printed on one line), 2 bad configuration.
 */
import { ConfigError, loadConfig } from '../config/env.ts';
import { createLogger } from '../observability/logger.ts';
import { createCassandraClient } from './client.ts';
import { loadCassandraConfig, schemaSpec } from './config.ts';
import { migrate } from './migrate.ts';

const log = createLogger('schema');

async function main(): Promise<number> {
  let cfg: ReturnType<typeof loadCassandraConfig>;
  let schema: ReturnType<typeof loadConfig<typeof schemaSpec>>;
  try {
    cfg = loadCassandraConfig();
    schema = loadConfig(schemaSpec);
  } catch (err) {
    if (err instanceof ConfigError) {
      log.error({ problems: err.problems }, err.message);
      return 2;
    }
    throw err;
  }
  const client = createCassandraClient(cfg, { withoutKeyspace: true, applicationName: 'schema' });
  try {
    const result = await migrate(client, {
      keyspace: cfg.keyspace,
      replication: schema.replication,
      log: (msg) => log.info(msg),
    });
    log.info({ keyspace: cfg.keyspace, ...result }, 'schema up to date');
    return 0;
  } catch (err) {
    log.error({ err }, `schema migration failed: ${(err as Error).message}`);
    return 1;
  } finally {
    await client.shutdown();
  }
}

process.exitCode = await main();
