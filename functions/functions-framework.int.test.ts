/**
 * The functions also run under @google-cloud/functions-framework's own CLI, from the same definitions and
 * settings as functions/main.ts: a binary-mode CloudEvent POSTed to `functions-framework --target=trade-writer`
 * ends up as rows in Cassandra.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../dev/pipeline/ports.ts';
import { repoRoot } from '../dev/pipeline/service.ts';
import { toHttpBinary } from '../shared/contract/event.ts';
import { tradeBucketOf } from '../shared/market/time.ts';
import { createTestKeyspace, type TestKeyspace } from '../test/cassandra.ts';
import { batch } from '../test/market-fixtures.ts';

/** The framework's own CLI (its package `bin`), run with the TypeScript loader so it can load our source. */
const cli = join(repoRoot, 'node_modules/.bin/functions-framework');
let ks: TestKeyspace;
let child: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  ks = await createTestKeyspace('mp_ff');
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await ks?.drop();
});

describe('functions-framework CLI', () => {
  it('runs trade-writer from its definition: a CloudEvent POSTed to it becomes rows in Cassandra', async () => {
    const port = await freePort();
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        cli,
        '--source=functions/functions-framework.ts',
        '--target=trade-writer',
        '--signature-type=cloudevent',
        `--port=${port}`,
      ],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          CASSANDRA_CONTACT_POINTS: inject('cassandraContactPoints').join(','),
          CASSANDRA_LOCAL_DC: inject('cassandraLocalDataCenter'),
          CASSANDRA_KEYSPACE: ks.keyspace,
          TRADE_WRITE_MODE: 'concurrent',
          LOG_LEVEL: 'info',
        },
      },
    );
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });

    const t = Date.now() - 5_000;
    const ev = batch('FF:TEST', [
      { t, p: 101.5, v: 2 },
      { t, p: 101.75, v: 0.5 },
    ]);
    const { headers, body } = toHttpBinary(ev);
    let status = 0;
    const deadline = Date.now() + 120_000;
    while (status !== 204 && status !== 200) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`functions-framework did not take the event (last status ${status}):\n${output}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          headers,
          body: new Uint8Array(body),
        });
        status = res.status;
      } catch {
        // not listening yet
      }
      if (status !== 204 && status !== 200) await new Promise((r) => setTimeout(r, 500));
    }

    const rows = await ks.client.execute(
      'SELECT price, volume FROM trades_10s WHERE symbol = ? AND bucket = ? AND trade_time = ?',
      ['FF:TEST', new Date(tradeBucketOf(t)), new Date(t)],
      { prepare: true },
    );
    expect(rows.rows.map((r) => [r.price, r.volume])).toEqual([
      [101.5, 2],
      [101.75, 0.5],
    ]);
    // Its own setting came from the same definition: the start line names it.
    expect(output).toContain('"TRADE_WRITE_MODE":"concurrent"');
  }, 180_000);
});
