import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName } from '../../test/fixtures.ts';
import { quietLog } from '../../test/market-fixtures.ts';
import { createKafkaClient } from '../kafka/index.ts';
import type { IncomingRecord, KafkaAdmin, KafkaClient } from '../kafka/types.ts';
import { buildTradeBatchEvent, fromKafkaRecord, toKafkaRecord } from './event.ts';

let client: KafkaClient;
let admin: KafkaAdmin;
const topic = uniqueName('contract');

beforeAll(async () => {
  client = createKafkaClient({
    brokers: inject('kafkaBrokers'),
    clientId: 'contract-test',
    logger: quietLog,
  });
  admin = await client.admin();
  await admin.ensureTopic(topic, 2);
});
afterAll(async () => {
  await admin?.deleteTopics([topic]);
  await client?.close();
});

describe('trade-batch CloudEvent through the real Kafka broker', () => {
  it('reads back as the same CloudEvent (id, type, source, subject, time, data bytes)', async () => {
    const t = Date.UTC(2026, 10, 22, 12, 0, 0, 5);
    const events = ['BINANCE:BTCUSDT', 'AAPL'].map((symbol) =>
      buildTradeBatchEvent({
        symbol,
        trades: [
          { s: symbol, p: 1.25, t, v: 2, c: null },
          { s: symbol, p: 1.5, t, v: 0, c: ['12'] },
        ],
        receivedAtMs: t + 3,
      }),
    );
    const producer = await client.producer();
    await producer.send(
      topic,
      events.map((e) => toKafkaRecord(e)),
    );

    const received: IncomingRecord[] = [];
    let done!: () => void;
    const all = new Promise<void>((r) => {
      done = r;
    });
    const consumer = await client.groupConsumer(
      { groupId: uniqueName('g'), topics: [topic], fromBeginning: true },
      async (rec) => {
        received.push(rec);
        if (received.length === events.length) done();
      },
    );
    await all;
    await consumer.stop();

    for (const rec of received) {
      const back = fromKafkaRecord(rec);
      const sent = events.find((e) => e.id === back.id)!;
      expect(rec.key?.toString()).toBe(sent.subject);
      expect(back).toEqual(sent);
      expect(back.data.equals(sent.data)).toBe(true);
      for (const v of Object.values(rec.headers)) expect(v.length).toBeGreaterThan(0);
    }
    expect(new Set(received.map((r) => fromKafkaRecord(r).id))).toEqual(new Set(events.map((e) => e.id)));
  });
});
