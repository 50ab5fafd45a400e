import { type Env, loadConfig, type Setting } from '../config/env.ts';
import * as p from '../config/parsers.ts';

/** Replication as written in config: `SimpleStrategy:1` or `NetworkTopologyStrategy:dc1=3,dc2=3`. */
export interface Replication {
  readonly class: 'SimpleStrategy' | 'NetworkTopologyStrategy';
  readonly factors: Readonly<Record<string, number>>;
}

export function parseReplication(raw: string): Replication {
  const [cls, rest = ''] = raw.split(':', 2) as [string, string?];
  if (cls === 'SimpleStrategy') {
    const rf = p.int({ min: 1, max: 9 })(rest);
    return { class: cls, factors: { replication_factor: rf } };
  }
  if (cls === 'NetworkTopologyStrategy') {
    const factors: Record<string, number> = {};
    for (const part of rest.split(',')) {
      const m = /^([A-Za-z0-9_-]+)=(\d)$/.exec(part.trim());
      if (!m) throw new Error('expected NetworkTopologyStrategy:<dc>=<rf>[,<dc>=<rf>...]');
      factors[m[1]!] = Number(m[2]);
    }
    return { class: cls, factors };
  }
  throw new Error('expected SimpleStrategy:<rf> or NetworkTopologyStrategy:<dc>=<rf>,...');
}

const keyspaceName = p.identifier(/^[a-z][a-z0-9_]{0,47}$/, 'a lowercase Cassandra keyspace name');

export const cassandraSpec = {
  contactPoints: {
    env: 'CASSANDRA_CONTACT_POINTS',
    doc: 'Cassandra contact points, host:port, comma-separated',
    parse: p.list(p.hostPort),
    default: ['127.0.0.1:19042'],
  } satisfies Setting<string[]>,
  localDataCenter: {
    env: 'CASSANDRA_LOCAL_DC',
    doc: 'Data-center name of the contact points (SimpleSnitch says datacenter1)',
    parse: p.text,
    default: 'datacenter1',
  } satisfies Setting<string>,
  keyspace: {
    env: 'CASSANDRA_KEYSPACE',
    doc: 'Keyspace holding the market tables',
    parse: keyspaceName,
    default: 'market',
  } satisfies Setting<string>,
  username: {
    env: 'CASSANDRA_USERNAME',
    doc: 'User for PasswordAuthenticator (unset: no auth, as the local node runs)',
    parse: p.text,
    default: undefined,
  } satisfies Setting<string | undefined>,
  password: {
    env: 'CASSANDRA_PASSWORD',
    doc: 'Password of CASSANDRA_USERNAME',
    parse: p.text,
    default: undefined,
    secret: true,
  } satisfies Setting<string | undefined>,
  requestTimeoutMs: {
    env: 'CASSANDRA_REQUEST_TIMEOUT_MS',
    doc: 'Client-side timeout of one request',
    parse: p.int({ min: 100, max: 120_000 }),
    default: 5000,
  } satisfies Setting<number>,
} as const;

export const schemaSpec = {
  replication: {
    env: 'CASSANDRA_REPLICATION',
    doc: 'Keyspace replication used by the schema command: SimpleStrategy:<rf> or NetworkTopologyStrategy:<dc>=<rf>,...',
    parse: parseReplication,
    default: { class: 'SimpleStrategy', factors: { replication_factor: 1 } },
  } satisfies Setting<Replication>,
} as const;

export type CassandraConfig = ReturnType<typeof loadCassandraConfig>;
export const loadCassandraConfig = (env: Env = process.env) => loadConfig(cassandraSpec, env);
