/**
 * A Cassandra outage longer than the retry budget, then a dead-letter replay, on the real Kafka and Cassandra:
 * the dispatcher reads a copy of knative/ with the trades/windows retry budget shrunk, the functions run
 * behind their real HTTP hosts, Cassandra sits behind a TCP proxy that is cut, and `npm run dlq` runs as an
 * operator would run it. The replay comes "5 hours later" (past FINALIZE_HORIZON_S), twice, and afterwards
 * every trade is stored once, every candle is exact and the live counters equal the candles.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseDocument } from 'yaml';
import { type Dispatcher, startDispatcher } from '../dev/dispatcher/dispatcher.ts';
import type { OutcomeReport } from '../dev/dispatcher/kafka-source.ts';
import { loadManifests } from '../dev/dispatcher/manifests.ts';
import { startTcpProxy, type TcpProxy } from '../dev/pipeline/tcp-proxy.ts';
import { minuteFinalizer } from '../functions/minute-finalizer/handler.ts';
import { minuteWindow } from '../functions/minute-window/handler.ts';
import { TRADE_WRITER_METRICS, tradeWriter } from '../functions/trade-writer/handler.ts';
import { createCassandraClient } from '../shared/cassandra/client.ts';
import { MarketStore } from '../shared/cassandra/market-store.ts';
import { toKafkaRecord } from '../shared/contract/event.ts';
import type { Trade, TradeBatchEvent } from '../shared/contract/types.ts';
import { createFunctionHost, type FunctionHost } from '../shared/host/server.ts';
import { createKafkaClient, type KafkaAdmin, type KafkaClient } from '../shared/kafka/index.ts';
import { HOUR_MS, MINUTE_MS, minuteOf } from '../shared/market/time.ts';
import { createLogger } from '../shared/observability/logger.ts';
import { createRegistry, registerMetrics } from '../shared/observability/metrics.ts';
import { createTestKeyspace, type TestKeyspace, testCassandraConfig } from '../test/cassandra.ts';
import { repoRoot, uniqueName } from '../test/fixtures.ts';
import { allMetrics, batch, expectedCandle, quietLog } from '../test/market-fixtures.ts';

const run = promisify(execFile);
const settings = { finalizeLatenessS: 10, finalizeHorizonS: 3 * 3600, counterRetentionS: 86400 };
const T0 = minuteOf(Date.now()) - 60 * MINUTE_MS;
let clock = T0 + 2 * MINUTE_MS + 11_000;
const now = () => clock;

let ks: TestKeyspace;
let proxy: TcpProxy;
let kafka: KafkaClient;
let admin: KafkaAdmin;
let dispatcher: Dispatcher;
let hosts: FunctionHost[] = [];
let proxiedClient: ReturnType<typeof createCassandraClient>;
const work = mkdtempSync(join(tmpdir(), 'mp-dlq-'));
const topic = uniqueName('it_dlq_market');
const dlqTopic = `${topic}_dead`;
const replayGroup = uniqueName('it_dlq_replay');
const outcomes: OutcomeReport[] = [];
const registries = { writer: createRegistry(), window: createRegistry() };

/** knative/ copied, with this test's topics and groups and a retry budget of one quick retry. */
async function shrunkManifests() {
  cpSync(join(repoRoot, 'knative'), join(work, 'knative'), { recursive: true });
  const edit = (file: string, change: (doc: ReturnType<typeof parseDocument>) => void) => {
    const path = join(work, 'knative/base/sources', file);
    const doc = parseDocument(readFileSync(path, 'utf8'));
    change(doc);
    writeFileSync(path, doc.toString());
  };
  for (const file of ['trades.yaml', 'windows.yaml']) {
    edit(file, (doc) => {
      doc.setIn(['spec', 'topics'], [topic]);
      doc.setIn(['spec', 'consumerGroup'], uniqueName(file.replace('.yaml', '')));
      doc.setIn(['spec', 'delivery', 'retry'], 1);
      doc.setIn(['spec', 'delivery', 'backoffDelay'], 'PT0.05S');
      doc.setIn(['spec', 'delivery', 'timeout'], 'PT10S');
    });
  }
  edit('dead-letters.yaml', (doc) => doc.setIn(['spec', 'topic'], dlqTopic));
  return loadManifests(join(work, 'knative/overlays/local'));
}

async function listen(host: FunctionHost): Promise<string> {
  await host.app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(host.app.server.address() as AddressInfo).port}/`;
}

const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

const outcomesOf = (events: readonly TradeBatchEvent[], outcome: string) => {
  const ids = new Set(events.map((e) => e.id));
  return outcomes.filter((o) => ids.has(String(o.event.attributes.id)) && o.outcome === outcome).length;
};

/** `npm run dlq -- <args>` as an operator runs it, against this test's topics. */
function dlq(args: string[], group = replayGroup) {
  return run(process.execPath, ['--import', 'tsx', 'ops/dlq.ts', ...args], {
    cwd: repoRoot,
    env: {
      ...process.env,
      KAFKA_BROKERS: inject('kafkaBrokers').join(','),
      DLQ_TOPIC: dlqTopic,
      DLQ_REPLAY_TOPIC: topic,
      DLQ_REPLAY_GROUP: group,
      DLQ_IDLE_MS: '3000',
      LOG_LEVEL: 'warn',
    },
  });
}

async function send(events: readonly TradeBatchEvent[]) {
  const producer = await kafka.producer();
  await producer.send(
    topic,
    events.map((e) => {
      const r = toKafkaRecord(e);
      return { key: r.key, value: r.value, headers: r.headers };
    }),
  );
  await producer.close();
}

beforeAll(async () => {
  ks = await createTestKeyspace('mp_dlq');
  const [host, port] = inject('cassandraContactPoints')[0]!.split(':') as [string, string];
  proxy = await startTcpProxy(host, Number(port));
  proxiedClient = createCassandraClient(
    {
      ...testCassandraConfig(ks.keyspace),
      contactPoints: [`127.0.0.1:${proxy.port}`],
      requestTimeoutMs: 2000,
    },
    { applicationName: 'dlq-test' },
  );
  const store = new MarketStore(proxiedClient, { tradeTtlS: 3600, appliedEventTtlS: 3600 });
  await proxiedClient.connect();
  kafka = createKafkaClient({ brokers: inject('kafkaBrokers'), clientId: 'dlq-int', logger: quietLog });
  admin = await kafka.admin();
  await admin.ensureTopic(topic, 3);
  await admin.ensureTopic(dlqTopic, 3);
  hosts = [
    createFunctionHost(
      tradeWriter({
        store,
        mode: 'batch',
        ...settings,
        metrics: registerMetrics(registries.writer, TRADE_WRITER_METRICS),
        now,
        symbolRefreshMs: 0,
      }),
      { log: quietLog, registry: registries.writer },
    ),
    createFunctionHost(
      minuteWindow({
        store,
        ...settings,
        metrics: registerMetrics(registries.window, ['lateTrades', 'windowDuplicates', 'replayedEvents']),
        now,
      }),
      { log: quietLog, registry: registries.window },
    ),
  ];
  const [writerUrl, windowUrl] = await Promise.all(hosts.map(listen));
  dispatcher = await startDispatcher({
    manifests: await shrunkManifests(),
    sinks: { 'trade-writer': writerUrl!, 'minute-window': windowUrl! },
    sources: ['trades', 'windows'],
    kafka,
    logger: createLogger('dispatcher-test', { level: 'error' }),
    registry: createRegistry(),
    commitIntervalMs: 200,
    maxInFlight: 50,
    shutdownGraceMs: 2000,
    duplicateRatio: 0,
    pingTimeoutMs: 2000,
    pingSchedule: false,
    topicWaitMs: 200,
    onOutcome: (o) => outcomes.push(o),
  });
  await until('the dispatcher to join', () => dispatcher.ready());
}, 300_000);

afterAll(async () => {
  await dispatcher?.stop();
  for (const h of hosts) await h.close();
  await proxiedClient?.shutdown();
  await proxy?.close();
  await admin?.deleteTopics([topic, dlqTopic]);
  await admin?.close();
  await kafka?.close();
  await ks?.drop();
  rmSync(work, { recursive: true, force: true });
}, 120_000);

/** `n` events of a few trades each for `symbol` in the minute starting at `minute`. */
const events = (symbol: string, minute: number, n: number, seed: number): TradeBatchEvent[] =>
  Array.from({ length: n }, (_, i) =>
    batch(symbol, [
      { p: 100 + ((seed + i) % 17) / 4, t: minute + 1000 + i * 500, v: ((seed + i) % 5) / 2 },
      { p: 100 + ((seed + 3 * i) % 13) / 8, t: minute + 1200 + i * 500, v: 0.125 },
    ]),
  );

describe('a Cassandra outage longer than the retry budget, then npm run dlq', () => {
  it('replays the dead letters: every trade stored once, every candle exact, counters equal the candles', async () => {
    const symbols = ['BINANCE:BTCUSDT', 'AAPL'];
    const before = symbols.flatMap((s, k) => events(s, T0, 20, k));
    await send(before);
    await until('the events before the outage', () => outcomesOf(before, 'delivered') === 2 * before.length);
    const f = minuteFinalizer({ store: ks.store, ...settings, tradeTtlS: 86400, metrics: allMetrics(), now });
    await f.run();

    proxy.setDown(true);
    const during = symbols.flatMap((s, k) => events(s, T0 + MINUTE_MS, 15, 10 + k));
    await send(during);
    // Both functions give up on every event: one retry, then the dead-letter topic.
    await until(
      'the outage to dead-letter every event',
      () => outcomesOf(during, 'dead_lettered') === 2 * during.length,
    );
    proxy.setDown(false);
    await until('Cassandra back behind the proxy', () =>
      proxiedClient.execute('SELECT now() FROM system.local').then(
        () => true,
        () => false,
      ),
    );

    const { stdout: listed } = await dlq(['list']);
    const lines = listed.trim().split('\n');
    expect(lines).toHaveLength(2 * during.length);
    expect(new Set(lines.map((l) => l.split('\t')[1]))).toEqual(new Set(during.map((e) => e.id)));
    expect(lines.every((l) => /\t(503|no-answer)\tretryable\t2 trades\t/.test(l))).toBe(true);
    const first = lines[0]!.split('\t')[0]!;
    const { stdout: inspected } = await dlq(['inspect', first]);
    expect(JSON.parse(inspected)).toMatchObject({ poison: false, trades: [{}, {}] });

    // Hours later, past the finalize horizon: the replay still reaches the candles.
    clock = T0 + 5 * HOUR_MS;
    const replayed = JSON.parse((await dlq(['replay'])).stdout);
    expect(replayed).toMatchObject({
      read: 2 * during.length,
      replayed: during.length,
      duplicates: during.length,
      poison: 0,
    });
    await until('the replayed events', () => outcomesOf(during, 'delivered') === 2 * during.length);
    // A second replay finds nothing new; one from another group (a careless operator) changes nothing either:
    // the events keep their ids, so the functions recognise them (both replays are counted as replays).
    expect(JSON.parse((await dlq(['replay'])).stdout)).toMatchObject({ read: 0, replayed: 0 });
    const again = await dlq(['replay'], uniqueName('careless'));
    expect(JSON.parse(again.stdout)).toMatchObject({ replayed: during.length });
    await until('the second replay', () => outcomesOf(during, 'delivered') === 4 * during.length);
    expect(await registries.writer.metrics()).toMatch(
      /mp_replayed_events_total\{function="trade-writer"\} 60\b/,
    );

    await f.run();
    const all = [...before, ...during];
    for (const s of symbols) {
      const truth = all.flatMap((e) => e.trades).filter((t: Trade) => t.s === s);
      const rows = await ks.store.minuteTrades(s, T0);
      const rows2 = await ks.store.minuteTrades(s, T0 + MINUTE_MS);
      expect(rows.length + rows2.length, `${s} rows stored once`).toBe(truth.length);
      for (const m of [T0, T0 + MINUTE_MS]) {
        const want = truth.filter((t) => minuteOf(t.t) === m).sort((a, b) => a.t - b.t);
        const rs = await ks.client.execute(
          'SELECT open, high, low, close, trades, volume, volume_e8, price_e8, notional_e6 FROM candles_1m WHERE symbol = ? AND minute = ?',
          [s, new Date(m)],
          { prepare: true },
        );
        const r = rs.rows[0]!;
        const { vwap: _v, ...exact } = expectedCandle(want);
        expect(
          {
            open: r.open,
            high: r.high,
            low: r.low,
            close: r.close,
            trades: Number(r.trades),
            volume: r.volume,
          },
          `${s} ${m}`,
        ).toEqual(exact);
        const live = (await ks.store.liveRow(s, m))!;
        expect([live.trades, live.volumeE8, live.priceE8, live.notionalE6]).toEqual([
          BigInt(String(r.trades)),
          BigInt(String(r.volume_e8)),
          BigInt(String(r.price_e8)),
          BigInt(String(r.notional_e6)),
        ]);
      }
    }
  });
});
