import { describe, expect, it } from 'vitest';
import { buildTradeBatchEvent, decodeFrame, toKafkaRecord } from '../../shared/contract/index.ts';
import type { KafkaClient, OutgoingRecord, RecordProducer } from '../../shared/kafka/index.ts';
import { KafkaSink, producerStateLost } from './kafka-sink.ts';
import type { OutRecord } from './record.ts';
import { captureLogger, until } from './test-helpers.ts';

const rec: OutRecord = {
  key: 'AAPL',
  value: Buffer.from([1]),
  headers: { ce_id: 'x' },
  timestampMs: 1700000000000,
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

  it('sizes batches from the topic limit and splits what the broker refuses as too large, down to one trade', async () => {
    const limit = 400;
    const sent: OutgoingRecord[][] = [];
    const client = {
      clientId: 'fake',
      async admin() {
        return {
          ensureTopic: async () => false,
          topicConfig: async () => ({ 'max.message.bytes': String(limit) }),
          close: async () => {},
        };
      },
      async producer(): Promise<RecordProducer> {
        return {
          async send(_topic, records) {
            if (records.reduce((n, r) => n + (r.value?.length ?? 0), 0) > limit)
              throw { name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE' };
            sent.push([...records]);
            return [];
          },
          close: async () => {},
        };
      },
      close: async () => {},
    } as unknown as KafkaClient;
    const dropped: OutRecord[] = [];
    const sink = new KafkaSink(client, 'market', 1, captureLogger().logger, {
      onOversized: (r) => dropped.push(r),
    });
    sink.start();
    await until(() => sink.ready);
    expect(sink.maxBatchBytes).toBe(limit - 61);
    const out = (n: number, c: string[] | null = null): OutRecord => {
      const trades = Array.from({ length: n }, (_, i) => ({
        s: 'AAPL',
        p: 1 + i,
        t: 1_700_000_000_000 + i,
        v: 1,
        c,
      }));
      const kr = toKafkaRecord(
        buildTradeBatchEvent({ symbol: 'AAPL', trades, receivedAtMs: 1, id: `E${n}` }),
      );
      return { ...kr, receivedAt: 1, trades: n };
    };
    // 40 trades in one record (~1 KB): halved, and the halves halved again, until each part fits.
    await sink.send([out(40)]);
    const parts = sent
      .flat()
      .map((r) => ({ id: r.headers?.ce_id, n: decodeFrame(r.value as Buffer).data.length }));
    expect(parts).toEqual(['E40.0.0', 'E40.0.1', 'E40.1.0', 'E40.1.1'].map((id) => ({ id, n: 10 })));
    // A single trade larger than the limit can never be written: dropped and reported, the send completes.
    sent.length = 0;
    const huge = out(
      1,
      Array.from({ length: 32 }, () => 'x'.repeat(16)),
    );
    await sink.send([out(2), huge]);
    expect(sent.flat().map((r) => r.headers?.ce_id)).toEqual(['E2']);
    expect(dropped.map((r) => r.headers.ce_id)).toEqual([huge.headers.ce_id]);
    await sink.close();
  });
});
