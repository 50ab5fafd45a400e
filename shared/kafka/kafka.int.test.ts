import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafkaClient, type IncomingRecord, type KafkaAdmin, type KafkaClient } from './index.ts';

const topics: string[] = [];
let client: KafkaClient;
let admin: KafkaAdmin;

function newTopic(): string {
  const name = `it-kafka-${randomUUID().slice(0, 8)}`;
  topics.push(name);
  return name;
}

/** Collects records and resolves `until(n)` once n have arrived (no timers: the test timeout bounds it). */
function collector() {
  const records: IncomingRecord[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    records,
    handler: async (r: IncomingRecord) => {
      records.push(r);
      for (const w of waiters.filter((w) => records.length >= w.n)) w.resolve();
    },
    until: (n: number) =>
      new Promise<void>((resolve) => {
        if (records.length >= n) resolve();
        else waiters.push({ n, resolve });
      }),
  };
}

beforeAll(async () => {
  client = createKafkaClient({
    brokers: inject('kafkaBrokers'),
    clientId: 'kafka-int-test',
    logLevel: 'warn',
  });
  admin = await client.admin();
});

afterAll(async () => {
  await admin?.deleteTopics(topics);
  await client?.close();
});

describe('shared/kafka against the real broker', () => {
  it('ensureTopic creates, is idempotent, grows partitions; deleteTopics removes and tolerates repeats', async () => {
    const topic = newTopic();
    expect(await admin.ensureTopic(topic, 1)).toBe(true);
    expect(await admin.ensureTopic(topic, 1)).toBe(false);
    expect(await admin.ensureTopic(topic, 3)).toBe(true);
    expect(await admin.partitionCount(topic)).toBe(3);
    await admin.deleteTopics([topic]);
    await admin.deleteTopics([topic]);
    expect(await admin.listTopics()).not.toContain(topic);
  });

  it('a consumer group joins, receives, commits; the next member of the group resumes after the commit', async () => {
    const topic = newTopic();
    const groupId = `it-group-${randomUUID().slice(0, 8)}`;
    await admin.ensureTopic(topic, 1);
    const producer = await client.producer();
    await producer.send(
      topic,
      ['a', 'b', 'c'].map((v) => ({ key: 'BINANCE:BTCUSDT', value: v })),
    );

    const first = collector();
    const a = await client.groupConsumer({ groupId, topics: [topic], fromBeginning: true }, first.handler);
    const assignment = await a.joined();
    expect(assignment.partitions[topic]).toEqual([0]);
    await first.until(3);
    await a.stop();
    expect(first.records.map((r) => r.value?.toString())).toEqual(['a', 'b', 'c']);
    expect(await admin.committedOffsets(groupId, topic)).toEqual({ 0: '3' });

    await producer.send(
      topic,
      ['d', 'e'].map((v) => ({ key: 'BINANCE:BTCUSDT', value: v })),
    );
    const second = collector();
    const b = await client.groupConsumer({ groupId, topics: [topic], fromBeginning: true }, second.handler);
    await second.until(2);
    await b.stop();
    expect(second.records.map((r) => [r.offset, r.value?.toString()])).toEqual([
      ['3', 'd'],
      ['4', 'e'],
    ]);
    await producer.close();
  });

  it('without autoCommit only explicit commits move the group', async () => {
    const topic = newTopic();
    const groupId = `it-manual-${randomUUID().slice(0, 8)}`;
    await admin.ensureTopic(topic, 1);
    const producer = await client.producer();
    await producer.send(
      topic,
      [1, 2, 3, 4].map((n) => ({ key: null, value: String(n) })),
    );
    const seen = collector();
    const c = await client.groupConsumer(
      { groupId, topics: [topic], fromBeginning: true, autoCommit: false },
      seen.handler,
    );
    await seen.until(4);
    await c.commit([{ topic, partition: 0, offset: '2' }]);
    await c.stop();
    expect(await admin.committedOffsets(groupId, topic)).toEqual({ 0: '2' });
    await producer.close();
  });

  it('the idempotent producer (acks=all, 5 in flight) delivers concurrent sends once each, in key order', async () => {
    const topic = newTopic();
    await admin.ensureTopic(topic, 3);
    const producer = await client.producer({ idempotent: true, maxInFlightRequests: 5 });
    const keys = ['BINANCE:BTCUSDT', 'BINANCE:ETHUSDT', 'AAPL'];
    const sends = Array.from({ length: 20 }, (_, i) =>
      producer.send(
        topic,
        keys.map((key) => ({ key, value: JSON.stringify({ key, i }) })),
      ),
    );
    const reports = await Promise.all(sends);
    // One report per partition written by a send; every one acknowledged.
    for (const r of reports)
      expect(r.every((d) => d.topic === topic && Number(d.baseOffset) >= 0)).toBe(true);
    await producer.close();

    const seen = collector();
    const c = await client.groupConsumer(
      { groupId: `it-idem-${randomUUID().slice(0, 8)}`, topics: [topic], fromBeginning: true },
      seen.handler,
    );
    await seen.until(60);
    await c.stop();
    expect(seen.records).toHaveLength(60);
    for (const key of keys) {
      const ofKey = seen.records.filter((r) => r.key?.toString() === key);
      expect(new Set(ofKey.map((r) => r.partition)).size).toBe(1);
      // Sends were issued concurrently; per partition, each one's batch must appear exactly once.
      expect(
        ofKey.map((r) => (JSON.parse(r.value!.toString()) as { i: number }).i).sort((x, y) => x - y),
      ).toEqual(Array.from({ length: 20 }, (_, i) => i));
    }
  });

  it('keys, values and headers (text and binary) round-trip byte for byte', async () => {
    const topic = newTopic();
    await admin.ensureTopic(topic, 1);
    const binary = Buffer.from([0, 1, 2, 254, 255]);
    const producer = await client.producer();
    await producer.send(topic, [
      {
        key: 'BINANCE:BTCUSDT',
        value: binary,
        timestampMs: 1_700_000_000_123,
        headers: {
          ce_specversion: '1.0',
          ce_id: '01HZX3K6QJ4C9W3V6Y8N2B7T5R',
          'content-type': 'application/avro',
          ce_binary: binary,
        },
      },
      { key: null, value: null },
    ]);
    await expect(
      producer.send(topic, [{ key: 'k', value: 'v', headers: { bad: undefined as never } }]),
    ).rejects.toThrow(/header "bad" has no value/);
    await producer.close();

    const seen = collector();
    const c = await client.groupConsumer(
      { groupId: `it-headers-${randomUUID().slice(0, 8)}`, topics: [topic], fromBeginning: true },
      seen.handler,
    );
    await seen.until(2);
    await c.stop();
    const [withHeaders, tombstone] = seen.records;
    expect(withHeaders?.key?.toString()).toBe('BINANCE:BTCUSDT');
    expect(withHeaders?.value).toEqual(binary);
    expect(withHeaders?.timestampMs).toBe(1_700_000_000_123);
    expect(
      Object.fromEntries(Object.entries(withHeaders?.headers ?? {}).map(([k, v]) => [k, v.toString('hex')])),
    ).toEqual({
      ce_specversion: Buffer.from('1.0').toString('hex'),
      ce_id: Buffer.from('01HZX3K6QJ4C9W3V6Y8N2B7T5R').toString('hex'),
      'content-type': Buffer.from('application/avro').toString('hex'),
      ce_binary: binary.toString('hex'),
    });
    expect(tombstone?.key).toBeNull();
    expect(tombstone?.value).toBeNull();
    expect(tombstone?.headers).toEqual({});
  });
});
