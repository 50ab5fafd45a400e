import type cassandra from 'cassandra-driver';
import type { Logger } from '../observability/logger.ts';
import { registerSecret } from '../observability/logger.ts';
import { connectWithRetry } from '../retry/backoff.ts';
import { createCassandraClient } from './client.ts';
import type { CassandraConfig } from './config.ts';

export interface CassandraSession {
  readonly client: cassandra.Client;
  /** True once connected (readiness). */
  connected(): boolean;
  /** Resolves once connected; never, when closed first. */
  readonly up: Promise<void>;
  /** Stops retrying and shuts the client down. */
  close(): Promise<void>;
}

/**
 * A long-lived process's Cassandra session: the password kept out of logs, the connect retried in the
 * background (a process starts, and says it is not ready, while the database is still coming up).
 */
export function openCassandraSession(cfg: CassandraConfig, name: string, log: Logger): CassandraSession {
  registerSecret(cfg.password);
  const client = createCassandraClient(cfg, { applicationName: name });
  let connected = false;
  let closed = false;
  const up = connectWithRetry(() => client.connect(), {
    stopped: () => closed,
    onRetry: (attempt, err, waitMs) =>
      log.warn({ attempt, waitMs, err: err.message }, 'Cassandra not reachable yet, retrying'),
  }).then((attempts) => {
    if (attempts === undefined) return new Promise<void>(() => {});
    connected = true;
    log.info({ attempts }, 'connected to Cassandra');
  });
  return {
    client,
    connected: () => connected,
    up,
    async close() {
      closed = true;
      await client.shutdown();
    },
  };
}
