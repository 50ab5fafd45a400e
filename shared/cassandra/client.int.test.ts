import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKeyspace, type TestKeyspace } from '../../test/cassandra.ts';
import { allRows } from './client.ts';

let ks: TestKeyspace;
beforeAll(async () => {
  ks = await createTestKeyspace('mp_allrows');
  await ks.client.execute(`CREATE TABLE "${ks.keyspace}".pages (p int, c int, v text, PRIMARY KEY (p, c))`);
  for (let c = 0; c < 25; c++)
    await ks.client.execute(`INSERT INTO "${ks.keyspace}".pages (p, c, v) VALUES (1, ?, ?)`, [c, `v${c}`], {
      prepare: true,
    });
}, 120_000);
afterAll(async () => {
  await ks?.drop();
});

describe('allRows (the driver pages)', () => {
  it('returns every row across pages, in clustering order, with the column names', async () => {
    const q = `SELECT c, v FROM "${ks.keyspace}".pages WHERE p = ?`;
    // 25 rows in pages of 10: three pages, the last one short.
    const r = await allRows(ks.client, q, [1], { prepare: true, fetchSize: 10 });
    expect(r.columns).toEqual(['c', 'v']);
    expect(r.rows.map((row) => row.c)).toEqual(Array.from({ length: 25 }, (_v, i) => i));
    // An exact multiple of the page size: the last page comes back empty and ends the paging.
    const five = await allRows(ks.client, q, [1], { prepare: true, fetchSize: 5 });
    expect(five.rows).toHaveLength(25);
  });

  it('returns no rows, but the columns, for an empty result; and rejects a bad query', async () => {
    const r = await allRows(ks.client, `SELECT c, v FROM "${ks.keyspace}".pages WHERE p = 2`, []);
    expect(r).toEqual({ columns: ['c', 'v'], rows: [] });
    await expect(allRows(ks.client, `SELECT nope FROM "${ks.keyspace}".pages`, [])).rejects.toThrow(/nope/);
  });
});
