import { describe, expect, it } from 'vitest';
import type { KafkaClient, OutgoingRecord, RecordProducer } from '../../shared/kafka/index.ts';
import { KafkaSink, producerStateLost } from './kafka-sink.ts';
import type { OutRecord } from './record.ts';
import { captureLogger, until } from './test-helpers.ts';

const rec: OutRecord = {
  key: 'AAPL',
  value: Buffer.from([1]),
  headers: { ce_id: 'x' },
  timestamp: '1700000000000',
  receivedAt: 1,
  trades: 1,
};

/** A fake client: counts topics ensured and producers made; each producer fails as scripted. */
function fakeClient(failures: unknown[]) {
  const made: { sent: OutgoingRecord[][]; closed: boolean }[] = [];
  const ensured: [string, number][] = [];
  const client = {
    clientId: 'fake',
    async admin() {
      return {
        async ensureTopic(name: string, partitions: number) {
          ensured.push([name, partitions]);
          return true;
        },
        async close() {},
      };
    },
    async producer(): Promise<RecordProducer> {
      const p = { sent: [] as OutgoingRecord[][], closed: false };
      made.push(p);
      return {
        async send(_topic, records) {
          const f = failures.shift();
          if (f) throw f;
          p.sent.push([...records]);
          return [];
        },
        async close() {
          p.closed = true;
        },
      };
    },
    async close() {},
  } as unknown as KafkaClient;
  return { client, made, ensured };
}

describe('KafkaSink', () => {
  it('recognises lost producer state anywhere in the error chain', () => {
    expect(producerStateLost({ type: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })).toBe(true);
    expect(
      producerStateLost({ name: 'KafkaJSNumberOfRetriesExceeded', cause: { type: 'UNKNOWN_PRODUCER_ID' } }),
    ).toBe(true);
    expect(producerStateLost({ errors: [{ originalError: { type: 'INVALID_PRODUCER_EPOCH' } }] })).toBe(true);
    expect(producerStateLost({ type: 'REQUEST_TIMED_OUT' })).toBe(false);
    expect(producerStateLost(new Error('x'))).toBe(false);
    expect(producerStateLost(null)).toBe(false);
  });

  it('ensures the topic, waits for the producer, and replaces a producer whose state the broker lost', async () => {
    const { client, made, ensured } = fakeClient([undefined, { type: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }]);
    const sink = new KafkaSink(client, 'market', 6, captureLogger().logger);
    const first = sink.send([rec]); // before start(): waits for the producer
    sink.start();
    await first;
    expect(ensured).toEqual([['market', 6]]);
    await expect(sink.send([rec])).rejects.toMatchObject({ type: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    await until(() => made.length === 2 && sink.ready);
    await sink.send([rec]);
    expect(made[0]!.closed).toBe(true);
    expect(made.map((p) => p.sent.length)).toEqual([1, 1]);
    expect(made[1]!.sent[0]![0]).toMatchObject({ key: 'AAPL', timestampMs: 1_700_000_000_000 });
    await sink.close();
    await expect(sink.send([rec])).rejects.toThrow(/closed/);
  });
});
