import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Delivery } from './delivery.ts';
import type { OutRecord } from './record.ts';
import { DiskSpool } from './spool.ts';
import { captureLogger, MemorySink, until } from './test-helpers.ts';

const rec = (i: number): OutRecord => ({
  key: `S${i % 5}`,
  value: Buffer.from(`v${i}`),
  headers: { ce_id: `id-${i}` },
  timestampMs: 1700000000000,
  receivedAt: 1_700_000_000_000 + i,
  trades: 1,
});
const ids = (rs: readonly OutRecord[]) => rs.map((r) => r.headers.ce_id);
const expected = (n: number) => Array.from({ length: n }, (_, i) => `id-${i}`);

describe('Delivery', () => {
  const dirs: string[] = [];
  const spoolAt = (dir?: string) => {
    const d = dir ?? mkdtempSync(join(tmpdir(), 'delivery-'));
    if (!dir) dirs.push(d);
    return new DiskSpool({ dir: d, segmentBytes: 4096, fsync: 'never' });
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const make = (
    sink: MemorySink,
    spool: DiskSpool,
    over: Partial<ConstructorParameters<typeof Delivery>[0]> = {},
  ) =>
    new Delivery({
      sink,
      spool,
      logger: captureLogger().logger,
      maxQueueRecords: 1_000,
      maxBatchRecords: 7,
      maxBatchBytes: 1 << 20,
      stallMs: 30,
      retry: { initialMs: 5, maxMs: 20 },
      ...over,
    });

  it('delivers in arrival order, batching what accumulates while a send is in flight', async () => {
    const sink = new MemorySink();
    const d = make(sink, spoolAt());
    for (let i = 0; i < 100; i++) d.push([rec(i)]);
    expect(await d.flush(5_000)).toBe(true);
    expect(ids(sink.acked)).toEqual(expected(100));
    expect(sink.attempts.length).toBeLessThan(100);
    expect(d.spooling).toBe(false);
    await d.close(1_000);
  });

  it('spools while Kafka fails, re-sends the failed batch unchanged, then drains in order without duplicates', async () => {
    const sink = new MemorySink();
    const spool = spoolAt();
    let availability: boolean[] = [];
    const d = make(sink, spool, { hooks: { onAvailability: (a) => availability.push(a) } });
    d.push([rec(0), rec(1)]);
    await d.flush(1_000);
    sink.mode = 'fail';
    for (let i = 2; i < 60; i++) d.push([rec(i)]);
    await until(() => sink.attempts.length >= 5);
    expect(d.spooling).toBe(true);
    expect(d.kafkaAvailable).toBe(false);
    expect(spool.depth).toBeGreaterThan(0);
    // Every failed attempt carried exactly the same batch.
    const failed = sink.attempts.slice(1);
    for (const a of failed) expect(ids(a)).toEqual(ids(failed[0]!));
    for (let i = 60; i < 80; i++) d.push([rec(i)]);
    sink.heal();
    expect(await d.flush(5_000)).toBe(true);
    expect(ids(sink.acked)).toEqual(expected(80));
    expect(d.spooling).toBe(false);
    expect(spool.depth).toBe(0);
    expect(availability).toEqual([false, true]);
    availability = [];
    await d.close(1_000);
  });

  it('treats a send that hangs past the stall time as an outage and keeps order when it completes', async () => {
    const sink = new MemorySink();
    const spool = spoolAt();
    const d = make(sink, spool);
    sink.mode = 'hang';
    for (let i = 0; i < 30; i++) d.push([rec(i)]);
    await until(() => d.spooling);
    for (let i = 30; i < 50; i++) d.push([rec(i)]);
    expect(spool.depth).toBeGreaterThan(0);
    sink.heal();
    expect(await d.flush(5_000)).toBe(true);
    expect(ids(sink.acked)).toEqual(expected(50));
    await d.close(1_000);
  });

  it('diverts to the spool when the queue is full, without reordering', async () => {
    const sink = new MemorySink();
    const spool = spoolAt();
    const d = make(sink, spool, { maxQueueRecords: 10, stallMs: 60_000 });
    sink.mode = 'hang';
    for (let i = 0; i < 40; i++) d.push([rec(i)]);
    expect(d.spooling).toBe(true);
    expect(spool.depth).toBeGreaterThan(0);
    sink.heal();
    expect(await d.flush(5_000)).toBe(true);
    expect(ids(sink.acked)).toEqual(expected(40));
    await d.close(1_000);
  });

  it('on close with Kafka down, saves the in-flight batch and the queue in front of the spool; the next run sends all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'delivery-'));
    dirs.push(dir);
    const sink = new MemorySink();
    sink.mode = 'fail';
    const d = make(sink, spoolAt(dir), { stallMs: 60_000, retry: { initialMs: 1, maxMs: 2 } });
    for (let i = 0; i < 25; i++) d.push([rec(i)]);
    await until(() => sink.attempts.length >= 2);
    const res = await d.close(50);
    expect(res.drained).toBe(false);
    expect(res.spooled).toBe(25);
    d.push([rec(99)]); // after close: refused (counted), never reordered into the spool

    const sink2 = new MemorySink();
    const spool2 = spoolAt(dir);
    expect(spool2.depth).toBe(25);
    const d2 = make(sink2, spool2);
    expect(d2.spooling).toBe(true);
    d2.push([rec(25)]);
    expect(await d2.flush(5_000)).toBe(true);
    expect(ids(sink2.acked)).toEqual(expected(26));
    await d2.close(1_000);
  });
});
