import { randomUUID } from 'node:crypto';
import avro from 'avsc';
import type { SentFrame } from '../../dev/replay-feed/server.ts';
import { fromKafkaRecord } from '../../shared/contract/index.ts';
import { createKafkaClient, type IncomingRecord } from '../../shared/kafka/index.ts';
import { createLogger } from '../../shared/observability/index.ts';
import { readFixtureJson } from '../../test/fixtures.ts';

/** Helpers of the bridge's integration tests (real Kafka). */

const quiet = () => createLogger('bridge-it', { level: 'silent' });

/** The seeds' own schema file, to prove a seed consumer can read our topic unchanged. */
export const seedType = avro.Type.forSchema(readFixtureJson<avro.Schema>('rskriegs-trades.avsc'));

export interface SimpleTrade {
  s: string;
  p: number;
  t: number;
  v: number;
  c: (string | null)[] | null;
}

/**
 * Every record of a topic: writes an end marker to each partition, then reads from the beginning until each
 * partition's marker, so the result is the complete content (duplicates included), in offset order.
 */
export async function readTopic(brokers: string[], topic: string): Promise<IncomingRecord[]> {
  const client = createKafkaClient({
    brokers,
    clientId: 'bridge-it-reader',
    logger: quiet(),
    logLevel: 'nothing',
  });
  try {
    const admin = await client.admin();
    const partitions = await admin.partitionCount(topic);
    const producer = await client.producer();
    const marker = `end-${randomUUID()}`;
    await producer.send(
      topic,
      Array.from({ length: partitions }, (_, partition) => ({
        key: null,
        value: Buffer.from('end'),
        partition,
        headers: { 'x-test-end': marker },
      })),
    );
    const out: IncomingRecord[] = [];
    const done = new Set<number>();
    let finish: () => void = () => {};
    const finished = new Promise<void>((r) => {
      finish = r;
    });
    const consumer = await client.groupConsumer(
      { groupId: `bridge-it-${randomUUID()}`, topics: [topic], fromBeginning: true, maxWaitTimeMs: 200 },
      async (rec) => {
        if (rec.headers['x-test-end']?.toString() === marker) {
          done.add(rec.partition);
          if (done.size === partitions) finish();
          return;
        }
        out.push(rec);
      },
    );
    await finished;
    await consumer.stop();
    return out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  } finally {
    await client.close();
  }
}

export async function deleteTopic(brokers: string[], topic: string): Promise<void> {
  const client = createKafkaClient({
    brokers,
    clientId: 'bridge-it-admin',
    logger: quiet(),
    logLevel: 'nothing',
  });
  try {
    await (await client.admin()).deleteTopics([topic]);
  } finally {
    await client.close();
  }
}

/** Per symbol, the trades in the order a consumer of the topic sees them (offset order per partition). */
export function tradesBySymbolFromKafka(records: IncomingRecord[]): {
  bySymbol: Map<string, SimpleTrade[]>;
  ids: string[];
} {
  const bySymbol = new Map<string, SimpleTrade[]>();
  const ids: string[] = [];
  const partitionOf = new Map<string, number>();
  for (const rec of records) {
    const key = rec.key?.toString() ?? '';
    // Same key, same partition: per-symbol order is the partition's order.
    const seen = partitionOf.get(key);
    if (seen !== undefined && seen !== rec.partition) throw new Error(`symbol ${key} in two partitions`);
    partitionOf.set(key, rec.partition);
    const ev = fromKafkaRecord(rec);
    if (ev.subject !== key) throw new Error(`ce_subject ${ev.subject} is not the key ${key}`);
    ids.push(ev.id);
    // Decode with the seeds' schema file, independent of our contract code.
    const seed = seedType.fromBuffer(rec.value!) as { type: string; data: SimpleTrade[] };
    if (seed.type !== 'trade') throw new Error(`record type ${seed.type}`);
    const list = bySymbol.get(key) ?? [];
    for (const t of seed.data) {
      if (t.s !== key) throw new Error(`trade of ${t.s} in a record keyed ${key}`);
      list.push({ s: t.s, p: t.p, t: t.t, v: t.v, c: t.c });
    }
    bySymbol.set(key, list);
  }
  return { bySymbol, ids };
}

/** Per symbol, the trades the feed sent, in send order. */
export function tradesBySymbolFromFeed(sent: readonly SentFrame[]): Map<string, SimpleTrade[]> {
  const out = new Map<string, SimpleTrade[]>();
  for (const f of sent) {
    for (const t of f.frame.data) {
      const list = out.get(t.s) ?? [];
      list.push({ s: t.s, p: t.p, t: t.t, v: t.v, c: t.c });
      out.set(t.s, list);
    }
  }
  return out;
}

/** Number of trades of one symbol sharing a millisecond with the previous trade of that symbol. */
export function sameMillisecondPairs(bySymbol: Map<string, SimpleTrade[]>): number {
  let n = 0;
  for (const list of bySymbol.values())
    for (let i = 1; i < list.length; i++) if (list[i]!.t === list[i - 1]!.t) n++;
  return n;
}
