/**
 * The real write through a bundle: the schema bundle creates a keyspace on the test Cassandra, then the
 * trade-writer bundle, started with the image's command, turns ready and stores a CloudEvent's trades.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cassandra from 'cassandra-driver';
import { afterAll, expect, inject, it } from 'vitest';
import { toHttpBinary } from '../../shared/contract/event.ts';
import { tradeBucketOf } from '../../shared/market/time.ts';
import { uniqueName } from '../../test/fixtures.ts';
import { batch } from '../../test/market-fixtures.ts';
import { bundle } from './bundle.ts';
import { freePort, startLikeImage, stop, waitHttp } from './run-bundle.ts';

const out = mkdtempSync(join(tmpdir(), 'market-bundles-int-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('schema + trade-writer bundles store a trade batch in real Cassandra', async () => {
  const contactPoints = inject('cassandraContactPoints');
  const localDc = inject('cassandraLocalDataCenter');
  const keyspace = uniqueName('bundle');
  const env = {
    CASSANDRA_CONTACT_POINTS: contactPoints.join(','),
    CASSANDRA_LOCAL_DC: localDc,
    CASSANDRA_KEYSPACE: keyspace,
  };
  const schemaDir = (await bundle('schema', out)).dir;
  const writerDir = (await bundle('trade-writer', out)).dir;

  const schema = startLikeImage(schemaDir, env);
  const code = await new Promise<number | null>((r) => schema.once('exit', (c) => r(c)));
  expect(code).toBe(0);

  const port = await freePort();
  const writer = startLikeImage(writerDir, { ...env, PORT: String(port), HOST: '127.0.0.1' });
  const client = new cassandra.Client({ contactPoints, localDataCenter: localDc });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitHttp(`${base}/healthz`, writer);
    const deadline = Date.now() + 60_000;
    while ((await fetch(`${base}/readyz`)).status !== 200) {
      if (Date.now() > deadline) throw new Error('trade-writer never became ready');
      await new Promise((r) => setTimeout(r, 200));
    }
    const t = Date.now();
    const ev = batch('BINANCE:BTCUSDT', [
      { p: 64000.5, t, v: 0.25 },
      { p: 64001, t, v: 0.5 },
    ]);
    const { headers, body } = toHttpBinary(ev);
    const res = await fetch(`${base}/`, { method: 'POST', headers, body: new Uint8Array(body) });
    expect(res.status, await res.text()).toBeLessThan(300);
    const rows = await client.execute(
      `SELECT price, volume FROM "${keyspace}".trades_10s WHERE symbol = ? AND bucket = ?`,
      ['BINANCE:BTCUSDT', new Date(tradeBucketOf(t))],
      { prepare: true },
    );
    expect(rows.rows.map((r) => [r.price, r.volume]).sort()).toEqual([
      [64000.5, 0.25],
      [64001, 0.5],
    ]);
  } finally {
    await stop(writer);
    await client.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`).catch(() => {});
    await client.shutdown();
  }
}, 180_000);
