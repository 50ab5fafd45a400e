import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type cassandra from 'cassandra-driver';
import type { Replication } from './config.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
  readonly checksum: string;
}

export const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Splits a CQL file into statements: `--` comments dropped, statements end with `;` at a line end. */
export function parseCql(text: string): string[] {
  const body = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n');
  return body
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function loadMigrations(dir: string = migrationsDir): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.cql$/.test(f))
    .sort();
  return files.map((file) => {
    const text = readFileSync(`${dir}/${file}`, 'utf8');
    return {
      version: Number(file.slice(0, 3)),
      name: file.replace(/\.cql$/, ''),
      statements: parseCql(text),
      checksum: createHash('sha256').update(text).digest('hex').slice(0, 16),
    };
  });
}

export function keyspaceCql(keyspace: string, replication: Replication): string {
  const entries = Object.entries({ class: replication.class, ...replication.factors })
    .map(([k, v]) => `'${k}': ${typeof v === 'number' ? v : `'${v}'`}`)
    .join(', ');
  return `CREATE KEYSPACE IF NOT EXISTS "${keyspace}" WITH replication = {${entries}} AND durable_writes = true`;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export interface MigrateResult {
  readonly applied: number[];
  readonly skipped: number[];
}

/**
 * Creates the keyspace and applies pending migrations in order, recording each in `schema_migrations`.
 * Re-running is a no-op; an applied migration whose file changed is refused (add a new migration instead).
 * `client` must be connected without a keyspace; it is left switched to `keyspace`.
 */
export async function migrate(
  client: cassandra.Client,
  opts: {
    keyspace: string;
    replication: Replication;
    migrations?: readonly Migration[];
    log?: (msg: string) => void;
  },
): Promise<MigrateResult> {
  const log = opts.log ?? (() => {});
  const migrations = opts.migrations ?? loadMigrations();
  await client.execute(keyspaceCql(opts.keyspace, opts.replication));
  await client.execute(`USE "${opts.keyspace}"`);
  await client.execute(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, name text, checksum text, applied_at timestamp)',
  );
  const done = new Map<number, { name: string; checksum: string }>();
  const rows = await client.execute('SELECT version, name, checksum FROM schema_migrations');
  for (const r of rows.rows)
    done.set(r.version as number, { name: r.name as string, checksum: r.checksum as string });

  const result: MigrateResult = { applied: [], skipped: [] };
  for (const m of migrations) {
    const prior = done.get(m.version);
    if (prior) {
      if (prior.checksum !== m.checksum) {
        throw new MigrationError(
          `migration ${m.name} was applied with checksum ${prior.checksum} but the file now has ${m.checksum}: applied migrations are immutable, add a new numbered migration instead`,
        );
      }
      result.skipped.push(m.version);
      continue;
    }
    log(`applying migration ${m.name} (${m.statements.length} statements)`);
    for (const stmt of m.statements) await client.execute(stmt);
    await client.execute(
      'INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, toTimestamp(now()))',
      [m.version, m.name, m.checksum],
      { prepare: true },
    );
    result.applied.push(m.version);
  }
  return result;
}
