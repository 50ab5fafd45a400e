/**
 * Child process of the `spool` bench part: appends numbered records (batches of 10) to a spool store as fast
 * as it can, forever, printing the count every 10,000; the bench SIGKILLs it mid-write.
 * Usage: node --import tsx bench/spool-writer.ts <store kind> <dir>
 */
import { benchRecord, openStore, type StoreKind } from './spool-stores.ts';

const [kind, dir] = process.argv.slice(2) as [StoreKind, string];
const store = openStore(kind, dir);
let n = 0;
for (;;) {
  const batch = [];
  for (let i = 0; i < 10; i++, n++) batch.push(benchRecord(n));
  store.append(batch);
  if (n % 10_000 === 0) await new Promise((r) => process.stdout.write(`${n}\n`, r));
}
