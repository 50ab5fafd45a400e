/**
 * The dispatcher against the real Kafka of the test runtime and small local HTTP sinks. Every wait is on a
 * condition (records seen, outcomes reported), bounded by the test timeout; nothing asserts on durations
 * except lower bounds that backoff guarantees.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseDocument } from 'yaml';
import { buildTradeBatchEvent, toKafkaRecord } from '../../shared/contract/event.ts';
import {
  createKafkaClient,
  type IncomingRecord,
  type KafkaAdmin,
  type KafkaClient,
  type RecordProducer,
} from '../../shared/kafka/index.ts';
import { createLogger } from '../../shared/observability/logger.ts';
import { createRegistry } from '../../shared/observability/metrics.ts';
import { type Dispatcher, type DispatcherOptions, startDispatcher } from './dispatcher.ts';
import type { OutcomeReport } from './kafka-source.ts';
import { loadManifests, type Manifests, parseManifests } from './manifests.ts';

let client: KafkaClient;
let admin: KafkaAdmin;
let producer: RecordProducer;
const topics: string[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

const id = () => randomUUID().slice(0, 8);
async function newTopic(partitions = 1): Promise<string> {
  const name = `it-dispatch-${id()}`;
  topics.push(name);
  await admin.ensureTopic(name, partitions);
  return name;
}

beforeAll(async () => {
  client = createKafkaClient({
    brokers: inject('kafkaBrokers'),
    clientId: 'dispatcher-int-test',
    logLevel: 'warn',
  });
  admin = await client.admin();
  producer = await client.producer();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  await admin?.deleteTopics(topics);
  await client?.close();
});

interface Seen {
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly at: number;
}
type Answer = { status: number; body?: string } | 'hold';

/** An HTTP sink that records every request and answers what `decide` says. */
async function testSink(
  decide: (req: Seen, n: number) => Answer | Promise<Answer> = () => ({ status: 200 }),
) {
  const seen: Seen[] = [];
  const waiters: { pred: () => boolean; resolve: () => void }[] = [];
  const held: ServerResponse[] = [];
  let inflight = 0;
  let maxInflight = 0;
  const perPartition = new Map<string, number>();
  let maxPerPartition = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const s: Seen = { headers: req.headers, body: Buffer.concat(chunks), at: performance.now() };
      const part = String(req.headers['ce-knativekafkapartition']);
      inflight++;
      maxInflight = Math.max(maxInflight, inflight);
      perPartition.set(part, (perPartition.get(part) ?? 0) + 1);
      maxPerPartition = Math.max(maxPerPartition, perPartition.get(part)!);
      seen.push(s);
      for (const w of waiters.filter((w) => w.pred())) w.resolve();
      const answer = await decide(s, seen.length);
      const done = () => {
        inflight--;
        perPartition.set(part, perPartition.get(part)! - 1);
      };
      if (answer === 'hold') {
        held.push(res);
        res.on('close', done);
        return;
      }
      done();
      res.writeHead(answer.status, { 'content-type': 'text/plain' });
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return {
    url,
    seen,
    held,
    stats: () => ({ maxInflight, maxPerPartition }),
    until: (pred: () => boolean) =>
      new Promise<void>((resolve) => {
        if (pred()) resolve();
        else waiters.push({ pred, resolve });
      }),
  };
}

/** Outcomes reported by the dispatcher, with a wait for a condition on them. */
function outcomes() {
  const list: OutcomeReport[] = [];
  const waiters: { pred: (l: OutcomeReport[]) => boolean; resolve: () => void }[] = [];
  return {
    list,
    push: (r: OutcomeReport) => {
      list.push(r);
      for (const w of waiters.filter((w) => w.pred(list))) w.resolve();
    },
    until: (pred: (l: OutcomeReport[]) => boolean) =>
      new Promise<void>((resolve) => {
        if (pred(list)) resolve();
        else waiters.push({ pred, resolve });
      }),
  };
}

async function start(
  manifests: Manifests,
  sinks: Record<string, string>,
  onOutcome: (r: OutcomeReport) => void,
  extra: Partial<DispatcherOptions> = {},
): Promise<Dispatcher> {
  const d = await startDispatcher({
    manifests,
    sinks,
    kafka: client,
    logger: createLogger('dispatcher-test', { level: 'warn' }),
    registry: createRegistry(),
    commitIntervalMs: 200,
    maxInFlight: 50,
    shutdownGraceMs: 2000,
    duplicateRatio: 0,
    pingTimeoutMs: 2000,
    pingSchedule: false,
    topicWaitMs: 200,
    onOutcome,
    ...extra,
  });
  cleanups.push(() => d.stop());
  while (!d.ready()) await sleep(50);
  return d;
}

interface SourceOpts {
  name?: string;
  topic: string;
  group?: string;
  ordering?: 'ordered' | 'unordered';
  delivery?: string;
  dlsTopic?: string;
}

/** A manifest like the checked-in ones, with test topics and groups. */
function manifests(...sources: SourceOpts[]): Manifests {
  const docs = sources.map(
    (s) => `
apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: { name: ${s.name ?? 'src'}, namespace: market }
spec:
  bootstrapServers: [unused:9092]
  topics: [${s.topic}]
  consumerGroup: ${s.group ?? `it-${id()}`}
  initialOffset: earliest
  ordering: ${s.ordering ?? 'ordered'}
  delivery:
${s.delivery ?? '    retry: 2\n    backoffPolicy: linear\n    backoffDelay: PT0.05S\n    timeout: PT5S'}
${s.dlsTopic ? '    deadLetterSink: { ref: { apiVersion: eventing.knative.dev/v1alpha1, kind: KafkaSink, name: dls } }' : ''}
  sink: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: fn } }
`,
  );
  const dls = sources.find((s) => s.dlsTopic)?.dlsTopic;
  if (dls) {
    docs.push(`
apiVersion: eventing.knative.dev/v1alpha1
kind: KafkaSink
metadata: { name: dls, namespace: market }
spec: { topic: ${dls}, bootstrapServers: [unused:9092] }
`);
  }
  return parseManifests(docs.join('\n---\n'));
}

/** Reads `n` records of a topic from the beginning with a throwaway group. */
async function readTopic(topic: string, n: number): Promise<IncomingRecord[]> {
  const got: IncomingRecord[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => {
    done = r;
  });
  const c = await client.groupConsumer(
    { groupId: `it-read-${id()}`, topics: [topic], fromBeginning: true },
    async (r) => {
      got.push(r);
      if (got.length >= n) done();
    },
  );
  await all;
  await c.stop();
  return got;
}

const binaryCe = (ceId: string, extra: Record<string, string> = {}) => ({
  key: 'BINANCE:BTCUSDT',
  value: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]),
  headers: {
    ce_specversion: '1.0',
    ce_id: ceId,
    ce_source: 'urn:test',
    ce_type: 'test.v1',
    'content-type': 'application/octet-stream',
    ...extra,
  },
});

describe('KafkaSource emulation against the real Kafka', () => {
  it('passes CloudEvents through in HTTP binary mode with partition/offset extensions, and wraps other records', async () => {
    const topic = await newTopic();
    const sink = await testSink();
    const out = outcomes();
    const trade = toKafkaRecord(
      buildTradeBatchEvent({
        symbol: 'BINANCE:ETHUSDT',
        receivedAtMs: 1_700_000_000_500,
        trades: [{ s: 'BINANCE:ETHUSDT', p: 2000.25, v: 1.5, t: 1_700_000_000_000, c: null }],
      }),
    );
    const structured = {
      specversion: '1.0',
      id: 'structured-1',
      source: 'urn:test',
      type: 'test.v1',
      datacontenttype: 'application/avro',
      data_base64: Buffer.from([1, 2, 3]).toString('base64'),
    };
    await producer.send(topic, [
      { key: trade.key, value: trade.value, headers: trade.headers },
      {
        key: 'k',
        value: Buffer.from(JSON.stringify(structured)),
        headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
      },
      { key: 'plain-key', value: Buffer.from('just bytes'), headers: { 'X-Trace': 't1' } },
    ]);
    await start(manifests({ topic }), { fn: sink.url }, out.push);
    await out.until((l) => l.length === 3);
    expect(out.list.map((o) => o.outcome)).toEqual(['delivered', 'delivered', 'delivered']);

    const [a, b, c] = sink.seen;
    // Binary CE: every ce_ header kept, data bytes unchanged, Content-Type = datacontenttype.
    expect(a!.headers).toMatchObject({
      'ce-id': trade.headers.ce_id,
      'ce-type': trade.headers.ce_type,
      'ce-subject': 'BINANCE:ETHUSDT',
      'ce-receivedms': '1700000000500',
      'ce-knativekafkapartition': '0',
      'ce-knativekafkaoffset': '0',
      'content-type': 'application/avro',
      'kn-namespace': 'market',
    });
    expect(a!.headers).not.toHaveProperty('ce-datacontenttype');
    expect(a!.body.equals(trade.value)).toBe(true);
    // Structured: re-emitted in binary mode, data_base64 as raw bytes.
    expect(b!.headers).toMatchObject({
      'ce-id': 'structured-1',
      'content-type': 'application/avro',
      'ce-knativekafkaoffset': '1',
    });
    expect([...b!.body]).toEqual([1, 2, 3]);
    // Not a CloudEvent: wrapped as KafkaSource does.
    expect(c!.headers).toMatchObject({
      'ce-id': 'partition:0/offset:2',
      'ce-type': 'dev.knative.kafka.event',
      'ce-source': `/apis/v1/namespaces/market/kafkasources/src#${topic}`,
      'ce-subject': 'partition:0#2',
      'ce-key': 'plain-key',
      'ce-kafkaheaderxtrace': 't1',
    });
    expect(c!.body.toString()).toBe('just bytes');
  });

  it('sends poison events (400/415/422) to the dead-letter topic after zero retries, without blocking the partition', async () => {
    const topic = await newTopic();
    const dlsTopic = await newTopic();
    const status: Record<string, number> = { p400: 400, p415: 415, p422: 422 };
    const sink = await testSink((s) => {
      const code = status[String(s.headers['ce-id'])];
      return code ? { status: code, body: `rejected ${s.headers['ce-id']}` } : { status: 200 };
    });
    const out = outcomes();
    await producer.send(
      topic,
      ['p400', 'good1', 'p415', 'p422', 'good2'].map((ceId) => binaryCe(ceId)),
    );
    // Retries are allowed and quick: a wrongful retry of a poison event would show as a second request.
    const delivery = '    retry: 3\n    backoffPolicy: linear\n    backoffDelay: PT0.05S\n    timeout: PT5S';
    await start(manifests({ topic, ordering: 'ordered', delivery, dlsTopic }), { fn: sink.url }, out.push);
    await out.until((l) => l.length === 5);

    const requests = (ceId: string) => sink.seen.filter((s) => s.headers['ce-id'] === ceId).length;
    for (const ceId of ['p400', 'p415', 'p422', 'good1', 'good2']) expect(requests(ceId), ceId).toBe(1);
    expect(Object.fromEntries(out.list.map((o) => [o.event.attributes.id, o.outcome]))).toEqual({
      p400: 'dead_lettered',
      good1: 'delivered',
      p415: 'dead_lettered',
      p422: 'dead_lettered',
      good2: 'delivered',
    });

    const dead = await readTopic(dlsTopic, 3);
    const byId = new Map(dead.map((r) => [r.headers.ce_id?.toString(), r]));
    for (const [ceId, code] of Object.entries(status)) {
      const r = byId.get(ceId)!;
      expect(r, ceId).toBeDefined();
      const h = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString()]));
      expect(h).toMatchObject({
        ce_knativeerrorcode: String(code),
        ce_knativeerrordest: sink.url,
        ce_source: 'urn:test',
        'content-type': 'application/octet-stream',
      });
      expect(Buffer.from(h.ce_knativeerrordata!, 'base64').toString()).toBe(`rejected ${ceId}`);
      expect(r.value?.equals(binaryCe(ceId).value)).toBe(true);
      expect(r.key?.toString()).toBe('BINANCE:BTCUSDT');
    }
  });

  it('retries a transient failure (503, 503, then 200) with the manifest backoff and then delivers', async () => {
    const topic = await newTopic();
    const dlsTopic = await newTopic();
    const sink = await testSink((_s, n) => (n <= 2 ? { status: 503 } : { status: 200 }));
    const out = outcomes();
    await producer.send(topic, [binaryCe('flaky')]);
    const delivery =
      '    retry: 4\n    backoffPolicy: exponential\n    backoffDelay: PT0.1S\n    timeout: PT5S';
    await start(manifests({ topic, delivery, dlsTopic }), { fn: sink.url }, out.push);
    await out.until((l) => l.length === 1);
    expect(out.list[0]).toMatchObject({ outcome: 'delivered', attempts: 3 });
    expect(sink.seen.map((s) => s.headers['ce-id'])).toEqual(['flaky', 'flaky', 'flaky']);
    // Lower bounds only: exponential from 100 ms waits 200 ms, then 400 ms (timers may fire a ms early).
    expect(sink.seen[1]!.at - sink.seen[0]!.at).toBeGreaterThanOrEqual(195);
    expect(sink.seen[2]!.at - sink.seen[1]!.at).toBeGreaterThanOrEqual(395);
  });

  it.each([
    { ordering: 'ordered', perPartition: (n: number) => n === 1 },
    { ordering: 'unordered', perPartition: (n: number) => n > 1 },
  ] as const)('$ordering: in-flight events per partition', async ({ ordering, perPartition }) => {
    const topic = await newTopic(3);
    // Slow answers make overlaps likely whenever they are allowed.
    const sink = await testSink(async () => {
      await sleep(40);
      return { status: 200 };
    });
    const out = outcomes();
    const n = 45;
    await producer.send(
      topic,
      Array.from({ length: n }, (_, i) => ({ ...binaryCe(`e${i}`), partition: i % 3 })),
    );
    const group = `it-${id()}`;
    await start(manifests({ topic, ordering, group }), { fn: sink.url }, out.push, { maxInFlight: 8 });
    await out.until((l) => l.length === n);
    const { maxInflight, maxPerPartition } = sink.stats();
    expect(perPartition(maxPerPartition), `max in flight on one partition: ${maxPerPartition}`).toBe(true);
    // Partitions still run side by side in ordered mode; unordered stays within its bound.
    expect(maxInflight).toBeGreaterThan(1);
    expect(maxInflight).toBeLessThanOrEqual(ordering === 'ordered' ? 3 : 8);
    if (ordering === 'ordered') {
      for (const p of ['0', '1', '2']) {
        const offsets = sink.seen
          .filter((s) => s.headers['ce-knativekafkapartition'] === p)
          .map((s) => Number(s.headers['ce-knativekafkaoffset']));
        expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
      }
    }
  });

  it('re-sends a share of delivered events when the chaos option is on', async () => {
    const topic = await newTopic();
    const sink = await testSink();
    const out = outcomes();
    await producer.send(
      topic,
      ['d1', 'd2', 'd3', 'd4'].map((x) => binaryCe(x)),
    );
    let i = 0;
    await start(manifests({ topic }), { fn: sink.url }, out.push, {
      duplicateRatio: 0.5,
      // Deterministic "random": every second event is duplicated.
      random: () => (i++ % 2 === 0 ? 0.1 : 0.9),
    });
    await out.until((l) => l.length === 4);
    await sink.until(() => sink.seen.length === 6);
    expect(sink.seen.map((s) => s.headers['ce-id'])).toEqual(['d1', 'd1', 'd2', 'd3', 'd3', 'd4']);
  });

  it('commits offsets only after outcomes: a stop mid-way and a restart skip nothing', async () => {
    const topic = await newTopic();
    const group = `it-${id()}`;
    let holdOffset5 = true;
    const sink = await testSink((s) =>
      holdOffset5 && s.headers['ce-knativekafkaoffset'] === '5' ? 'hold' : { status: 200 },
    );
    const n = 20;
    await producer.send(
      topic,
      Array.from({ length: n }, (_, i) => binaryCe(`r${i}`)),
    );
    const m = manifests({ topic, group, ordering: 'unordered' });
    const first = outcomes();
    const registry = createRegistry();
    const d1 = await start(m, { fn: sink.url }, first.push, {
      maxInFlight: 10,
      shutdownGraceMs: 100,
      registry,
    });
    // Offset 5 hangs; every other record completes around it.
    await first.until((l) => l.length === n - 1);
    await d1.commit();
    expect(await admin.committedOffsets(group, topic)).toEqual({ 0: '5' });
    // 15 records (offset 5 onwards) are not committed: that is the lag.
    expect(await registry.metrics()).toContain(
      `mp_dispatcher_consumer_lag_records{source="src",topic="${topic}",partition="0"} 15`,
    );

    await d1.stop();
    expect(sink.held).toHaveLength(1);
    expect(await admin.committedOffsets(group, topic)).toEqual({ 0: '5' });

    holdOffset5 = false;
    const second = outcomes();
    const d2 = await start(m, { fn: sink.url }, second.push);
    // Resumes at the first record without an outcome, so everything after it comes again (at-least-once).
    await second.until((l) => l.length === n - 5);
    expect(second.list.map((o) => Number(o.offset)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: n - 5 }, (_, i) => i + 5),
    );
    const delivered = new Set([...first.list, ...second.list].map((o) => o.event.attributes.id));
    expect(delivered.size).toBe(n);
    await d2.commit();
    expect(await admin.committedOffsets(group, topic)).toEqual({ 0: String(n) });
  });
});

describe('the dispatcher follows the manifests it reads', () => {
  it.each([1, 3])(
    'knative/ copied with trades.delivery.retry = %i retries exactly that often, then dead-letters',
    async (retry) => {
      const dir = mkdtempSync(join(tmpdir(), 'dispatcher-knative-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      cpSync('knative', join(dir, 'knative'), { recursive: true });
      const topic = await newTopic();
      const dlsTopic = await newTopic();
      const group = `it-${id()}`;
      const edit = (file: string, change: (doc: ReturnType<typeof parseDocument>) => void) => {
        const path = join(dir, 'knative/base/sources', file);
        const doc = parseDocument(readFileSync(path, 'utf8'));
        change(doc);
        writeFileSync(path, doc.toString());
      };
      edit('trades.yaml', (doc) => {
        doc.setIn(['spec', 'topics'], [topic]);
        doc.setIn(['spec', 'consumerGroup'], group);
        doc.setIn(['spec', 'delivery', 'retry'], retry);
        doc.setIn(['spec', 'delivery', 'backoffDelay'], 'PT0.05S');
      });
      edit('dead-letters.yaml', (doc) => {
        doc.setIn(['spec', 'topic'], dlsTopic);
      });
      const m = await loadManifests(join(dir, 'knative/overlays/local'));
      const trades = m.kafkaSources.find((s) => s.name === 'trades')!;
      // Only the edited fields differ from the checked-in source.
      const original = (await loadManifests('knative/overlays/local')).kafkaSources.find(
        (s) => s.name === 'trades',
      )!;
      expect(trades).toEqual({
        ...original,
        topics: [topic],
        consumerGroup: group,
        delivery: { ...original.delivery, retry, backoffDelayMs: 50 },
      });

      const sink = await testSink(() => ({ status: 503, body: 'down' }));
      const out = outcomes();
      await producer.send(topic, [binaryCe('always-503')]);
      await start(m, { 'trade-writer': sink.url }, out.push, { sources: ['trades'] });
      await out.until((l) => l.length === 1);
      expect(sink.seen).toHaveLength(1 + retry);
      expect(out.list[0]).toMatchObject({ outcome: 'dead_lettered', attempts: 1 + retry });
      const [dead] = await readTopic(dlsTopic, 1);
      expect(dead!.headers.ce_id?.toString()).toBe('always-503');
      expect(dead!.headers.ce_knativeerrorcode?.toString()).toBe('503');
      expect(Buffer.from(dead!.headers.ce_knativeerrordata!.toString(), 'base64').toString()).toBe('down');
    },
  );
});

describe('main.ts as a process', () => {
  it('reads its config from the environment, delivers, and on SIGTERM commits and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dispatcher-main-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const topic = await newTopic();
    const group = `it-${id()}`;
    const file = join(dir, 'sources.yaml');
    const doc = parseDocument(readFileSync('knative/base/sources/trades.yaml', 'utf8'));
    doc.setIn(['spec', 'topics'], [topic]);
    doc.setIn(['spec', 'consumerGroup'], group);
    // A single file holds no KafkaSink to resolve; without a DLS, failures would be dropped (none here).
    doc.deleteIn(['spec', 'delivery', 'deadLetterSink']);
    writeFileSync(file, doc.toString());
    const sink = await testSink();
    await producer.send(topic, [binaryCe('via-main')]);
    const child = spawn(process.execPath, ['--import', 'tsx', 'dev/dispatcher/main.ts'], {
      env: {
        ...process.env,
        KAFKA_BROKERS: inject('kafkaBrokers').join(','),
        DISPATCHER_MANIFESTS: file,
        DISPATCHER_SINKS: `trade-writer=${sink.url}`,
        DISPATCHER_PORT: '0',
        DISPATCHER_PING_SCHEDULE: 'false',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    const exited = once(child, 'exit');
    // An early exit (bad config) fails the test at once instead of leaving it waiting for a delivery.
    await Promise.race([
      sink.until(() => sink.seen.length === 1),
      exited.then(([code]) => {
        throw new Error(`dispatcher exited with ${code}:\n${stdout}`);
      }),
    ]);
    expect(sink.seen[0]!.headers['ce-id']).toBe('via-main');
    const up = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; address?: string })
      .find((l) => l.msg === 'dispatcher up');
    expect(up?.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    let ready = await fetch(`${up!.address}/readyz`);
    while (ready.status !== 200) {
      await sleep(100);
      ready = await fetch(`${up!.address}/readyz`);
    }
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code, stdout).toBe(0);
    expect(await admin.committedOffsets(group, topic)).toEqual({ 0: '1' });
  });
});
