import cassandra from 'cassandra-driver';
import type { CassandraConfig } from './config.ts';

export type { Client } from 'cassandra-driver';
export const { types } = cassandra;

export interface ClientOptions {
  /** Connect without a keyspace (the schema command creates it). */
  withoutKeyspace?: boolean;
  applicationName?: string;
}

/** One driver client per process; the functions are handed it, they never build their own. */
export function createCassandraClient(cfg: CassandraConfig, opts: ClientOptions = {}): cassandra.Client {
  return new cassandra.Client({
    contactPoints: [...cfg.contactPoints],
    localDataCenter: cfg.localDataCenter,
    ...(opts.withoutKeyspace ? {} : { keyspace: cfg.keyspace }),
    ...(cfg.username ? { credentials: { username: cfg.username, password: cfg.password ?? '' } } : {}),
    applicationName: opts.applicationName ?? 'market-pipeline',
    socketOptions: { readTimeout: cfg.requestTimeoutMs, connectTimeout: 5000 },
    pooling: { warmup: true },
    // Statements are prepared once and reused; counters must never be retried blindly, so the defaults for
    // idempotence (false) stay and only the statements known to be idempotent opt in where they are run.
    queryOptions: { prepare: true, consistency: cassandra.types.consistencies.localQuorum },
  });
}

/** Every row of a query and its column names. */
export interface AllRows {
  readonly columns: readonly string[];
  readonly rows: cassandra.types.Row[];
}

/**
 * Every row of a query, paged by the driver itself (`eachRow` with `autoPage`: it follows the paging state,
 * empty pages included) `fetchSize` rows at a time.
 */
export function allRows(
  client: cassandra.Client,
  query: string,
  params: unknown[],
  options: cassandra.QueryOptions = {},
): Promise<AllRows> {
  const rows: cassandra.types.Row[] = [];
  return new Promise((resolve, reject) => {
    client.eachRow(
      query,
      params,
      { fetchSize: 5000, ...options, autoPage: true },
      (_n, row: cassandra.types.Row) => void rows.push(row),
      (err, rs) => {
        if (err) reject(err);
        else resolve({ columns: (rs?.columns ?? []).map((c) => c.name), rows });
      },
    );
  });
}
