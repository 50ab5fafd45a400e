import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cassandraSpec, parseReplication, schemaSpec } from '../cassandra/config.ts';
import { loadMarketConfig } from '../market/config.ts';
import { ConfigError, configTable, loadConfig, loadedSettings } from './env.ts';
import * as p from './parsers.ts';

describe('loadedSettings', () => {
  it('reports the effective value of every loaded setting, defaults included, secrets redacted', () => {
    loadConfig(
      {
        a: { env: 'T_LOADED_A', doc: 'a', parse: p.text, default: 'x' },
        b: { env: 'T_LOADED_B', doc: 'b', parse: p.list(p.text), default: [] as string[] },
        s: { env: 'T_LOADED_SECRET', doc: 's', parse: p.text, secret: true },
        u: { env: 'T_LOADED_UNSET', doc: 'u', parse: p.text, default: undefined },
      },
      { T_LOADED_B: 'p,q', T_LOADED_SECRET: 'hunter2' },
    );
    const seen = loadedSettings();
    expect(seen).toMatchObject({ T_LOADED_A: 'x', T_LOADED_B: 'p,q', T_LOADED_SECRET: '<redacted>' });
    expect(seen).not.toHaveProperty('T_LOADED_UNSET');
    expect(JSON.stringify(seen)).not.toContain('hunter2');
  });
});

describe('config loading', () => {
  it.each([
    [{}, { contactPoints: ['127.0.0.1:19042'], keyspace: 'market', requestTimeoutMs: 5000 }],
    [
      { CASSANDRA_CONTACT_POINTS: 'a:1, b:2', CASSANDRA_KEYSPACE: 'm2' },
      { contactPoints: ['a:1', 'b:2'], keyspace: 'm2' },
    ],
    [{ CASSANDRA_REQUEST_TIMEOUT_MS: '250' }, { requestTimeoutMs: 250 }],
  ])('reads %j', (env, expected) => {
    expect(loadConfig(cassandraSpec, env)).toMatchObject(expected);
  });

  it.each([
    [
      { CASSANDRA_CONTACT_POINTS: 'nohost' },
      'CASSANDRA_CONTACT_POINTS="nohost": item 1 ("nohost"): expected host:port',
    ],
    [
      { CASSANDRA_KEYSPACE: 'Bad-Name' },
      'CASSANDRA_KEYSPACE="Bad-Name": expected a lowercase Cassandra keyspace name',
    ],
    [
      { CASSANDRA_REQUEST_TIMEOUT_MS: '5s' },
      'CASSANDRA_REQUEST_TIMEOUT_MS="5s": expected an integer between 100 and 120000',
    ],
    [
      { CASSANDRA_PASSWORD_FILE: '/nonexistent/pw' },
      'CASSANDRA_PASSWORD_FILE: cannot read /nonexistent/pw (ENOENT)',
    ],
  ])('rejects %j with a message that names the variable and the fix', (env, message) => {
    expect(() => loadConfig(cassandraSpec, env)).toThrow(ConfigError);
    try {
      loadConfig(cassandraSpec, env);
    } catch (err) {
      expect((err as ConfigError).problems[0]).toContain(message);
    }
  });

  it('reports every problem at once and never echoes a secret', () => {
    const spec = {
      a: { env: 'A', doc: 'a', parse: p.int() },
      s: { env: 'S', doc: 's', parse: p.int(), secret: true },
    };
    try {
      loadConfig(spec, { S: 'hunter2-secret' });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems).toHaveLength(2);
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('reads secrets from a mounted file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'pw'), 's3cret\n');
    expect(loadConfig(cassandraSpec, { CASSANDRA_PASSWORD_FILE: join(dir, 'pw') }).password).toBe('s3cret');
  });

  it.each([
    ['SimpleStrategy:1', { class: 'SimpleStrategy', factors: { replication_factor: 1 } }],
    [
      'NetworkTopologyStrategy:dc1=3,dc2=2',
      { class: 'NetworkTopologyStrategy', factors: { dc1: 3, dc2: 2 } },
    ],
  ])('parses replication %s', (raw, expected) => expect(parseReplication(raw)).toEqual(expected));

  it.each(['Simple:1', 'SimpleStrategy:x', 'NetworkTopologyStrategy:dc1'])(
    'rejects replication %s',
    (raw) => {
      expect(() => loadConfig(schemaSpec, { CASSANDRA_REPLICATION: raw })).toThrow(ConfigError);
    },
  );

  it('keeps the finalize horizon inside the counter retention', () => {
    expect(() => loadMarketConfig({ FINALIZE_HORIZON_S: '90000', COUNTER_RETENTION_S: '86400' })).toThrow(
      /below COUNTER_RETENTION_S/,
    );
  });

  it('renders a docs table with every variable', () => {
    const table = configTable(cassandraSpec);
    for (const s of Object.values(cassandraSpec)) expect(table).toContain(s.env);
    expect(table).toContain('`CASSANDRA_PASSWORD` / `CASSANDRA_PASSWORD_FILE`');
  });
});
