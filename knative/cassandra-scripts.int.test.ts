/**
 * The scripts of knative/base/cassandra run here exactly as the manifests hold them (their text taken from the
 * rendered gcp overlay's ConfigMap, run with each container's command and env) against Cassandra 5.0.8: a
 * PRIVATE node this test starts (own ports, data and config; the shared runtime never gets auth switched on)
 * on the config the init container makes from 5.0.8's stock auth settings. Then the schema Job's three steps:
 * roles (auth bootstrap), the schema container's migration, grants. Auth ends on, the roles log in with
 * their grants and nothing more, the default superuser is disabled, and a second run changes nothing.
 *
 * Overridden, because this machine is not the cluster: where Cassandra is (CASSANDRA_HOST/PORT, the
 * contact points), where the Secrets are mounted (SECRETS_DIR), the image's config dir and the config volume
 * (CASSANDRA_IMAGE_CONF, CONFIG_DIR), and, for one node, the data center and replication (CASSANDRA_DC,
 * AUTH_REPLICATION, CASSANDRA_LOCAL_DC, CASSANDRA_REPLICATION). cqlsh is the pinned PyPI cqlsh of the 5.0 line
 * (dev/setup/install-cqlsh.sh), as the cassandra:5.0.8 image's own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type K8sObject, podContainers, renderOverlay } from '../dev/deploy/deploy.ts';
import { runtimeSpec } from '../dev/runtime/config.ts';
import { type PrivateCassandra, startPrivateCassandra } from '../dev/runtime/private-cassandra.ts';
import { cassandraAppSettings } from '../dev/runtime/templates.ts';
import { MAX_BATCH_BYTES } from '../shared/cassandra/market-store.ts';
import { repoRoot } from '../test/fixtures.ts';

const tools = process.env.MARKET_TOOLS_DIR ?? join(repoRoot, '.cache', 'tools');
const cqlshBin = join(tools, 'cqlsh-venv', 'bin');
const all = renderOverlay('gcp');
const find = (kind: string, name: string): K8sObject => {
  const o = all.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} in the gcp overlay`);
  return o;
};
const scripts = (find('ConfigMap', 'cassandra-scripts') as unknown as { data: Record<string, string> }).data;
const statefulSet = find('StatefulSet', 'cassandra');
const job = find('Job', 'cassandra-schema');
// biome-ignore lint/suspicious/noExplicitAny: containers are free-form
const container = (o: K8sObject, name: string): any => {
  const c = podContainers(o).find((x) => x.name === name);
  if (!c) throw new Error(`${o.kind}/${o.metadata.name} has no container ${name}`);
  return c;
};

const work = mkdtempSync(join(tmpdir(), 'mp-cassandra-scripts-'));
const scriptDir = join(work, 'scripts');
const secretsDir = join(work, 'secrets');
const SECRETS = {
  admin: { username: 'admin', password: "adm'in-pw" },
  app: { username: 'market_app', password: 'app-pw' },
  grafana: { username: 'grafana_ro', password: 'ro-pw' },
};
const KEYSPACE = 'market';
/** 5.0.8's defaults for the app's settings (`cassandraAppSettings`), as the image's stock file would have them. */
const STOCK_5_0: Record<string, string> = {
  batch_size_warn_threshold: '5KiB',
  memtable_allocation_type: 'heap_buffers',
  paxos_variant: 'v1',
  storage_compatibility_mode: 'CASSANDRA_4',
};
/** Blocks the stock file has only as comments (`sstable:` and its `selected_format: big`). */
const STOCK_5_0_COMMENTED = '#sstable:\n#  selected_format: big\n';
let node: PrivateCassandra;
let prepareOutput = '';

/** Runs a container of the manifests whose command is `sh /scripts/<file>`, with its env plus `overrides`. */
function runScript(o: K8sObject, name: string, overrides: Record<string, string>) {
  const c = container(o, name);
  expect(c.command?.[0]).toBe('sh');
  const script = String(c.command[1]);
  expect(script).toMatch(/^\/scripts\/[a-z-]+\.sh$/);
  const env: Record<string, string> = { PATH: `${cqlshBin}:${process.env.PATH}`, HOME: work };
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = String(e.value);
  Object.assign(env, overrides);
  // The ConfigMap is mounted at /scripts: the same text, at a path of this machine.
  return spawnSync('sh', [join(scriptDir, script.slice('/scripts/'.length))], { env, encoding: 'utf8' });
}

const clusterEnv = () => ({
  CASSANDRA_HOST: '127.0.0.1',
  CASSANDRA_PORT: String(node.port),
  SECRETS_DIR: secretsDir,
  CASSANDRA_DC: node.localDataCenter,
  AUTH_REPLICATION: '1',
  HOME: work,
});

/** The three steps of the schema Job, in its order: roles, schema, grants. */
function runSchemaJob(): void {
  const roles = runScript(job, 'roles', clusterEnv());
  expect(roles.status, `${roles.stdout}\n${roles.stderr}`).toBe(0);
  expect(roles.stdout).toContain('roles ready');
  const schema = container(job, 'schema');
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: work };
  for (const e of schema.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.secretKeyRef?.name === 'cassandra-admin')
      env[e.name] = SECRETS.admin[e.valueFrom.secretKeyRef.key as 'username'];
  }
  Object.assign(env, {
    CASSANDRA_CONTACT_POINTS: node.contactPoints.join(','),
    CASSANDRA_LOCAL_DC: node.localDataCenter,
    CASSANDRA_REPLICATION: `NetworkTopologyStrategy:${node.localDataCenter}=1`,
    CASSANDRA_PASSWORD_FILE: String(env.CASSANDRA_PASSWORD_FILE).replace(
      '/var/run/secrets/market',
      secretsDir,
    ),
  });
  expect(env.CASSANDRA_USERNAME).toBe(SECRETS.admin.username);
  const migrated = spawnSync(process.execPath, ['--import', 'tsx', 'shared/cassandra/schema-cli.ts'], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
  });
  expect(migrated.status, `${migrated.stdout}\n${migrated.stderr}`).toBe(0);
  const grants = runScript(job, 'grants', clusterEnv());
  expect(grants.status, `${grants.stdout}\n${grants.stderr}`).toBe(0);
}

const session = (username: string, password: string) =>
  new cassandra.Client({
    contactPoints: node.contactPoints,
    localDataCenter: node.localDataCenter,
    authProvider: new cassandra.auth.PlainTextAuthProvider(username, password),
    socketOptions: { connectTimeout: 5000, readTimeout: 20_000 },
  });

async function as<T>(role: keyof typeof SECRETS, f: (c: cassandra.Client) => Promise<T>): Promise<T> {
  const c = session(SECRETS[role].username, SECRETS[role].password);
  try {
    await c.connect();
    return await f(c);
  } finally {
    await c.shutdown();
  }
}

/** Fails with the server's error name when the statement is refused. */
const refusal = (c: cassandra.Client, cql: string, params: unknown[] = []) =>
  c.execute(cql, params, { prepare: false }).then(
    () => 'allowed',
    (err: Error & { code?: number }) =>
      err.message.includes('has no') || err.code === 0x2100 ? 'Unauthorized' : err.message,
  );

async function authState() {
  return as('admin', async (c) => ({
    roles: (
      await c.execute('SELECT role, can_login, is_superuser, member_of, salted_hash FROM system_auth.roles')
    ).rows
      .map((r) =>
        JSON.stringify([
          r.get('role'),
          r.get('can_login'),
          r.get('is_superuser'),
          r.get('member_of'),
          r.get('salted_hash'),
        ]),
      )
      .sort(),
    permissions: (
      await c.execute('SELECT role, resource, permissions FROM system_auth.role_permissions')
    ).rows
      .map((r) =>
        JSON.stringify([r.get('role'), r.get('resource'), [...(r.get('permissions') ?? [])].sort()]),
      )
      .sort(),
    replication: (
      await c.execute("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = 'system_auth'")
    )
      .first()
      ?.get('replication'),
    tables: (
      await c.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [KEYSPACE])
    ).rows
      .map((r) => r.get('table_name'))
      .sort(),
  }));
}

beforeAll(async () => {
  if (!existsSync(join(cqlshBin, 'cqlsh')))
    throw new Error('cqlsh is missing: run sh dev/setup/install-cqlsh.sh');
  mkdirSync(scriptDir);
  for (const [file, text] of Object.entries(scripts)) writeFileSync(join(scriptDir, file), text);
  for (const [role, kv] of Object.entries(SECRETS)) {
    mkdirSync(join(secretsDir, role), { recursive: true });
    for (const [k, v] of Object.entries(kv)) writeFileSync(join(secretsDir, role, k), v);
  }
  const stockAuth = readFileSync(join(repoRoot, 'test/fixtures/cassandra/stock-5.0-auth.yaml'), 'utf8');
  node = await startPrivateCassandra({
    dir: join(work, 'node'),
    configure: (rendered) => {
      // The image's /etc/cassandra: the runtime's yaml for this node with 5.0.8's stock auth settings.
      const imageConf = join(work, 'image-conf');
      const configVolume = join(work, 'config');
      mkdirSync(imageConf);
      mkdirSync(configVolume);
      // ... and the stock values of the app's settings, which the init container sets (a key the stock file
      // lacks is left out, as in the image).
      let own = readFileSync(rendered, 'utf8').replace(/^(authenticator|authorizer):.*\n/gm, '');
      for (const key of Object.keys(cassandraAppSettings())) {
        const stock = STOCK_5_0[key];
        // A nested setting's whole top-level block goes: the stock file has it commented out.
        const [top] = key.split('.');
        own = key.includes('.')
          ? own.replace(new RegExp(`^${top}:\n(?:[ \t].*\n?)*`, 'm'), '')
          : own.replace(new RegExp(`^${key}:.*(\n|$)`, 'm'), stock === undefined ? '' : `${key}: ${stock}\n`);
      }
      own += STOCK_5_0_COMMENTED;
      // The node must start from the stock values, or the read-back below would prove nothing.
      if (/^sstable:/m.test(own) || !/^storage_compatibility_mode: CASSANDRA_4$/m.test(own))
        throw new Error("the stand-in for the stock file still has the app's sstable settings");
      writeFileSync(join(imageConf, 'cassandra.yaml'), `${own}\n${stockAuth}`);
      const r = runScript(statefulSet, 'config', {
        CASSANDRA_IMAGE_CONF: imageConf,
        CONFIG_DIR: configVolume,
      });
      prepareOutput = `${r.stdout}${r.stderr}`;
      if (r.status !== 0)
        throw new Error(`the init container's prepare-config.sh failed (${r.status}): ${prepareOutput}`);
      return join(configVolume, 'cassandra.yaml');
    },
  });
}, 300_000);

afterAll(async () => {
  await node?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('Cassandra scripts of the manifests, on Cassandra 5.0.8', () => {
  it('the init container switches auth on in the stock 5.0 config, and the node requires a login', async () => {
    expect(prepareOutput).toContain(
      'authenticator org.apache.cassandra.auth.PasswordAuthenticator, authorizer CassandraAuthorizer',
    );
    const anonymous = new cassandra.Client({
      contactPoints: node.contactPoints,
      localDataCenter: node.localDataCenter,
    });
    await expect(anonymous.connect()).rejects.toThrow(/authenticat/i);
    await anonymous.shutdown();
  });

  it('the init script refuses a config whose authenticator it cannot switch', () => {
    const imageConf = join(work, 'odd-conf');
    mkdirSync(imageConf);
    writeFileSync(
      join(imageConf, 'cassandra.yaml'),
      'authenticator: com.example.CustomAuthenticator\nauthorizer: AllowAllAuthorizer\n',
    );
    const r = runScript(statefulSet, 'config', {
      CASSANDRA_IMAGE_CONF: imageConf,
      CONFIG_DIR: mkdtempSync(join(work, 'out-')),
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "authenticator is 'com.example.CustomAuthenticator', not PasswordAuthenticator",
    );
  });

  it('the schema Job bootstraps the roles, migrates, grants; each role can do what it must and nothing more', async () => {
    runSchemaJob();
    const state = await authState();
    expect(state.replication).toEqual({
      class: 'org.apache.cassandra.locator.NetworkTopologyStrategy',
      [node.localDataCenter]: '1',
    });
    expect(state.tables).toEqual(expect.arrayContaining(['trades', 'minute_live', 'candles_1m']));

    // The default superuser is disabled: it can log in no more.
    const dflt = session('cassandra', 'cassandra');
    await expect(dflt.connect()).rejects.toThrow(/authenticat|Provided username cassandra/i);
    await dflt.shutdown();
    const defaultRow = state.roles.map((r) => JSON.parse(r)).find((r) => r[0] === 'cassandra');
    expect(defaultRow?.slice(1, 3)).toEqual([false, false]);

    await as('app', async (c) => {
      expect(
        await refusal(
          c,
          `INSERT INTO ${KEYSPACE}.symbols (shard, symbol, updated_at) VALUES (0, 'T', toTimestamp(now()))`,
        ),
      ).toBe('allowed');
      expect(await refusal(c, `SELECT symbol FROM ${KEYSPACE}.symbols WHERE shard = 0`)).toBe('allowed');
      expect(await refusal(c, `CREATE TABLE ${KEYSPACE}.intruder (k int PRIMARY KEY)`)).toBe('Unauthorized');
      expect(await refusal(c, `DROP TABLE ${KEYSPACE}.symbols`)).toBe('Unauthorized');
      expect(await refusal(c, "CREATE ROLE mallory WITH LOGIN = true AND PASSWORD = 'x'")).toBe(
        'Unauthorized',
      );
    });
    await as('grafana', async (c) => {
      expect(await refusal(c, `SELECT symbol FROM ${KEYSPACE}.symbols WHERE shard = 0`)).toBe('allowed');
      expect(
        await refusal(
          c,
          `INSERT INTO ${KEYSPACE}.symbols (shard, symbol, updated_at) VALUES (0, 'G', toTimestamp(now()))`,
        ),
      ).toBe('Unauthorized');
      expect(await refusal(c, `TRUNCATE ${KEYSPACE}.symbols`)).toBe('Unauthorized');
    });
  }, 300_000);

  it.each(Object.entries(cassandraAppSettings()))(
    "the init container sets the app's %s as the local runtime does (%s)",
    async (key, value) => {
      const rs = await as('admin', (c) =>
        c.execute('SELECT value FROM system_views.settings WHERE name = ?', [key], { prepare: true }),
      );
      expect(rs.first()?.get('value')).toBe(value);
      if (key === 'batch_size_warn_threshold') expect(value).toBe(`${MAX_BATCH_BYTES / 1024}KiB`);
    },
  );

  it("the cassandra container starts the image's entrypoint with the local runtime's timer slack", () => {
    // A stand-in for the image's docker-entrypoint.sh that reports what the JVM would start with.
    const bin = join(work, 'image-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'docker-entrypoint.sh'),
      '#!/bin/sh\necho "$(cat /proc/self/timerslack_ns) $*"\n',
      {
        mode: 0o755,
      },
    );
    const started = runScript(statefulSet, 'cassandra', { PATH: `${bin}:${process.env.PATH}` });
    expect(started.status, started.stderr).toBe(0);
    expect(started.stdout.trim()).toBe(`${runtimeSpec.cassandraTimerSlackUs.default * 1000} cassandra -f`);
  });

  it('a second run of the init container and the schema Job changes nothing', async () => {
    const before = await authState();
    const again = mkdtempSync(join(work, 'config-again-'));
    const r = runScript(statefulSet, 'config', {
      CASSANDRA_IMAGE_CONF: join(work, 'image-conf'),
      CONFIG_DIR: again,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(again, 'cassandra.yaml'), 'utf8')).toBe(
      readFileSync(join(work, 'config', 'cassandra.yaml'), 'utf8'),
    );
    runSchemaJob();
    expect(await authState()).toEqual(before);
  }, 300_000);
});
