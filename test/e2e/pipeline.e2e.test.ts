/**
 * End to end on the real stack: replay feed -> bridge -> Kafka -> dispatcher (KafkaSource contract, read from
 * the manifests) -> trade-writer / minute-window / minute-finalizer -> Cassandra, with chaos on the way:
 * 20 % of deliveries duplicated, functions SIGKILLed and restarted mid-stream, Cassandra unreachable for longer
 * than the (shrunk) retry budget so events are dead-lettered and come back with `npm run dlq -- replay`, and
 * the finalizer SIGKILLed in the middle of a run. Afterwards every trade is stored exactly once, every candle
 * equals the ground truth and the live counters equal the candles.
 * Size: E2E_TRADES (default 30,000) at E2E_RATE trades/s (default 5,000). Exactness, not throughput, is the
 * point here (the bench measures throughput): 100,000 trades outran the waits below on a two-core CI machine.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeManifestCopy } from '../../dev/pipeline/manifests.ts';
import { LOCAL_TOPIC_PARTITIONS, type Stack, startStack } from '../../dev/pipeline/stack.ts';
import { startTcpProxy, type TcpProxy } from '../../dev/pipeline/tcp-proxy.ts';
import { type FeedFrame, type FeedTrade, Market } from '../../dev/replay-feed/market.ts';
import { type ReplayFeed, startReplayFeed } from '../../dev/replay-feed/server.ts';
import { allRows } from '../../shared/cassandra/client.ts';
import type { Trade } from '../../shared/contract/types.ts';
import { createKafkaClient } from '../../shared/kafka/index.ts';
import type { KafkaAdmin, KafkaClient } from '../../shared/kafka/types.ts';
import { MINUTE_MS, minuteOf, TRADE_BUCKET_MS, tradeBucketOf } from '../../shared/market/time.ts';
import { createTestKeyspace, type TestKeyspace } from '../cassandra.ts';
import { repoRoot, uniqueName } from '../fixtures.ts';
import { expectedCandle, quietLog } from '../market-fixtures.ts';
import { until } from '../until.ts';

const SYMBOLS = ['BINANCE:BTCUSDT', 'BINANCE:ETHUSDT', 'AAPL', 'MSFT'];
const TOTAL = Number(process.env.E2E_TRADES ?? 30_000);
const RATE = Number(process.env.E2E_RATE ?? 5000);
const SIM_MINUTES = 6;
/** The retry budget of the manifest copy: two retries 0.2 s and 0.4 s apart, far below the Cassandra cut. */
const SHRUNK_DELIVERY = { retry: 2, backoffDelay: 'PT0.2S' };
const CASSANDRA_CUT_MS = 8000;
const FINALIZER_LEASE_TTL_S = 5;
const run = promisify(execFile);
/** Trades of the hostile frames that are good (stored and counted), and all of them (one is refused). */
const HOSTILE_GOOD = 3;
const HOSTILE_ALL = 4;

let ks: TestKeyspace;
let kafka: KafkaClient;
let admin: KafkaAdmin;
let proxy: TcpProxy;
let feed: ReplayFeed;
let stack: Stack;
const topic = uniqueName('market');
const dlq = `${topic}_dlq`;
const work = mkdtempSync(join(tmpdir(), 'mp-e2e-'));
const log = (msg: string) => process.stderr.write(`[e2e] ${msg}\n`);

const recordedTimes = new Set<number>();
let recordingStart = 0;

/** A seeded market over SIM_MINUTES closed minutes, written as a recording the feed replays at RATE. */
function writeRecording(): string {
  const market = new Market({ seed: 42 });
  const t0 = minuteOf(Date.now()) - (SIM_MINUTES + 2) * MINUTE_MS;
  recordingStart = t0;
  const steps = SIM_MINUTES * 600;
  const lines: string[] = [];
  let made = 0;
  for (let i = 0; i < steps; i++) {
    const n = Math.round(((i + 1) * TOTAL) / steps) - made;
    if (n <= 0) continue;
    for (const frame of market.frames(t0 + i * 100, n, SYMBOLS)) {
      lines.push(JSON.stringify(frame));
      made += frame.data.length;
      for (const d of frame.data) recordedTimes.add(d.t);
    }
  }
  const file = join(work, 'market.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/**
 * What a sloppy or hostile feed sends: good trades whose optional conditions are malformed (a null item, a
 * number, not a list), which must be stored and counted whole, and a symbol the bridge never subscribed,
 * which must be refused. Times are inside a recorded minute but used by no recorded trade (no tie to order).
 */
function hostileFrames(): FeedFrame[] {
  const free = (from: number) => {
    let t = from;
    while (recordedTimes.has(t)) t++;
    recordedTimes.add(t);
    return t;
  };
  const at = recordingStart + 2 * MINUTE_MS + 12_345;
  const sloppy = (s: string, p: number, t: number, v: number, c: unknown) => ({ s, p, t, v, c }) as FeedTrade;
  return [
    {
      type: 'trade',
      data: [
        sloppy('AAPL', 187.25, free(at), 3, ['1', null]),
        sloppy('AAPL', 187.5, free(at + 1000), 2, [12]),
        sloppy('MSFT', 410.1, free(at + 2000), 1, 'not-a-list'),
      ],
    },
    { type: 'trade', data: [sloppy('NOT:SUBSCRIBED', 1, free(at + 3000), 1, null)] },
  ];
}

beforeAll(async () => {
  ks = await createTestKeyspace('mp_e2e');
  kafka = createKafkaClient({ brokers: inject('kafkaBrokers'), clientId: 'e2e', logger: quietLog });
  admin = await kafka.admin();
  await admin.ensureTopic(topic, LOCAL_TOPIC_PARTITIONS);
  await admin.ensureTopic(dlq, 1);
  const [host, port] = inject('cassandraContactPoints')[0]!.split(':') as [string, string];
  proxy = await startTcpProxy(host, Number(port));
  feed = await startReplayFeed({
    port: 0,
    replayFile: writeRecording(),
    replaySpeed: 0,
    tradesPerSecond: RATE,
    rebaseTime: false,
    recordInMemory: true,
    pingIntervalMs: 5000,
  });
  feed.setPaused(true);
  stack = await startStack({
    kafkaBrokers: inject('kafkaBrokers'),
    cassandraContactPoints: [`127.0.0.1:${proxy.port}`],
    cassandraLocalDataCenter: inject('cassandraLocalDataCenter'),
    keyspace: ks.keyspace,
    topic,
    manifests: writeManifestCopy(join(work, 'manifests'), {
      topic,
      deadLetterTopic: dlq,
      groupSuffix: uniqueName('e2e'),
      delivery: SHRUNK_DELIVERY,
    }),
    workDir: work,
    feedUrl: feed.url,
    only: ['trade-writer', 'minute-window', 'minute-finalizer', 'dispatcher', 'bridge'],
    env: { FINNHUB_SYMBOLS: SYMBOLS.join(','), LOG_LEVEL: 'warn' },
    serviceEnv: {
      dispatcher: { DISPATCHER_DUPLICATE_RATIO: '0.2', DISPATCHER_PING_SCHEDULE: 'false' },
      // A finalizer SIGKILLed mid-run holds the lease until it expires: keep that short here.
      'minute-finalizer': { FINALIZER_LEASE_TTL_S: String(FINALIZER_LEASE_TTL_S) },
    },
  });
  log(`stack up, logs in ${work}/logs`);
}, 300_000);

afterAll(async () => {
  // Leave each service's metrics beside its log: the first place to look when this test fails.
  for (const [name, url] of Object.entries(stack?.urls ?? {})) {
    const text = await fetch(`${url}/metrics`)
      .then((r) => r.text())
      .catch((err: Error) => `unreachable: ${err.message}`);
    writeFileSync(join(work, 'logs', `${name}.metrics.txt`), text);
  }
  await stack?.stop();
  await feed?.close();
  await proxy?.close();
  await admin?.deleteTopics([topic, dlq]);
  await kafka?.close();
  await ks?.drop();
}, 120_000);

async function storedTrades(symbol: string, fromMs: number, toMs: number): Promise<Trade[]> {
  const out: Trade[] = [];
  for (let b = tradeBucketOf(fromMs); b <= toMs; b += TRADE_BUCKET_MS) {
    const { rows } = await allRows(
      ks.client,
      'SELECT trade_time, price, volume FROM trades_10s WHERE symbol = ? AND bucket = ?',
      [symbol, new Date(b)],
      { prepare: true },
    );
    for (const r of rows)
      out.push({ s: symbol, t: (r.trade_time as Date).getTime(), p: r.price, v: r.volume, c: null });
  }
  return out;
}

describe('the whole local pipeline under chaos', () => {
  it('stores every trade exactly once and finalizes exact candles and counters', async () => {
    await until(
      'the bridge to subscribe every symbol',
      () => feed.subscriptions().flat().length >= SYMBOLS.length,
      30_000,
    );
    feed.setPaused(false);
    const chaos: [number, string, () => Promise<void>][] = [
      [
        0.2,
        'SIGKILL trade-writer',
        () =>
          stack
            .service('trade-writer')
            .stop('SIGKILL')
            .then(() => undefined),
      ],
      [0.3, 'restart trade-writer', () => stack.service('trade-writer').restart()],
      [
        0.4,
        'SIGKILL minute-window',
        () =>
          stack
            .service('minute-window')
            .stop('SIGKILL')
            .then(() => undefined),
      ],
      [0.45, 'restart minute-window', () => stack.service('minute-window').restart()],
      [
        0.5,
        'hostile frames: malformed conditions, an unsubscribed symbol',
        async () => {
          for (const frame of hostileFrames()) feed.sendFrame(frame);
        },
      ],
      [
        0.55,
        `Cassandra unreachable for ${CASSANDRA_CUT_MS / 1000} s, longer than the retry budget`,
        async () => {
          proxy.setDown(true);
          await new Promise((r) => setTimeout(r, CASSANDRA_CUT_MS));
          proxy.setDown(false);
        },
      ],
      [
        0.75,
        'SIGKILL trade-writer again',
        () =>
          stack
            .service('trade-writer')
            .stop('SIGKILL')
            .then(() => undefined),
      ],
      [0.8, 'restart trade-writer', () => stack.service('trade-writer').restart()],
    ];
    for (const [at, what, act] of chaos) {
      await until(
        `${Math.round(at * 100)} % of the feed`,
        () => feed.stats.tradesSent >= at * TOTAL,
        300_000,
      );
      log(`${feed.stats.tradesSent} trades sent: ${what}`);
      await act();
    }
    await until('the feed to finish', () => feed.stats.tradesSent >= TOTAL + HOSTILE_ALL, 300_000);
    const sentTrades = feed.sent.flatMap((f) => f.frame.data);
    expect(sentTrades).toHaveLength(TOTAL + HOSTILE_ALL);
    const EXPECTED = TOTAL + HOSTILE_GOOD;

    const span = {
      from: Math.min(...sentTrades.map((t) => t.t)),
      to: Math.max(...sentTrades.map((t) => t.t)),
    };
    const truth = new Map<string, Trade[]>(SYMBOLS.map((s) => [s, sentTrades.filter((t) => t.s === s)]));
    expect([...truth.values()].flat()).toHaveLength(EXPECTED);
    const countStored = async () => {
      let n = 0;
      for (const s of SYMBOLS) n += (await storedTrades(s, span.from, span.to)).length;
      return n;
    };
    // What the outage dead-lettered comes back with the operator's command; it runs until every row is
    // there, because the dispatcher may still be dead-lettering events it was late to deliver.
    let replayed = 0;
    await until(
      'every trade row, replaying dead letters',
      async () => {
        const { stdout } = await run(process.execPath, ['--import', 'tsx', 'ops/dlq.ts', 'replay'], {
          cwd: repoRoot,
          env: {
            ...process.env,
            KAFKA_BROKERS: inject('kafkaBrokers').join(','),
            DLQ_TOPIC: dlq,
            DLQ_REPLAY_TOPIC: topic,
            DLQ_REPLAY_GROUP: `${topic}_replay`,
            DLQ_IDLE_MS: '2000',
            LOG_LEVEL: 'warn',
          },
        });
        replayed += (JSON.parse(stdout) as { replayed: number }).replayed;
        return (await countStored()) >= EXPECTED;
      },
      240_000,
    );
    log(`${replayed} dead letters replayed`);
    expect(replayed, 'the outage dead-lettered events and they were replayed').toBeGreaterThan(0);

    // Exactly the trades sent: none lost, none doubled, same-millisecond trades distinct.
    const key = (t: Trade) => `${t.t}|${t.p}|${t.v}`;
    for (const s of SYMBOLS) {
      const stored = (await storedTrades(s, span.from, span.to)).map(key).sort();
      expect(stored, s).toEqual(truth.get(s)!.map(key).sort());
    }

    // Let minute-window drain, then finalize (twice: the second run must find nothing to do).
    const liveTotal = async () => {
      let n = 0;
      for (const s of SYMBOLS)
        for (const r of await ks.store.liveRange(s, minuteOf(span.from), span.to + 1)) n += Number(r.trades);
      return n;
    };
    // minute-window is done when its counters stop moving (an event whose claim outlived a failed write is
    // left to the finalizer's reconciliation, so the total may stay below TOTAL).
    let last = -1;
    let stableSince = Date.now();
    await until(
      'minute-window to settle',
      async () => {
        const n = await liveTotal();
        if (n !== last) {
          last = n;
          stableSince = Date.now();
        }
        return n === EXPECTED || Date.now() - stableSince > 10_000;
      },
      240_000,
    );
    log(`live counters hold ${last} of ${EXPECTED} trades before finalization`);
    const metric = async (service: 'bridge' | 'minute-finalizer', name: string, labels: string) => {
      const text = await fetch(`${stack.urls[service]}/metrics`).then((r) => r.text());
      let sum = 0;
      for (const line of text.split('\n'))
        if (line.startsWith(name) && line.includes(labels)) sum += Number(line.split(' ').pop());
      return sum;
    };
    const finalizerMetric = (name: string, labels: string) => metric('minute-finalizer', name, labels);
    // The hostile frames: three repairs counted, the unsubscribed symbol refused and counted.
    expect(await metric('bridge', 'mp_bridge_trade_fixes_total', '')).toBeGreaterThanOrEqual(3);
    expect(await metric('bridge', 'mp_bridge_trade_rejects_total', 'unsubscribed')).toBeGreaterThanOrEqual(1);
    const post = () =>
      fetch(`${stack.urls['minute-finalizer']}/`, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': uniqueName('tick'),
          'ce-source': 'e2e',
          'ce-type': 'dev.knative.sources.ping',
          'content-type': 'application/json',
        },
        body: '{"reason":"e2e"}',
      });
    // Kill the finalizer in the middle of its first run: once it has finalized some minutes, not all.
    const running = post().catch(() => undefined);
    let doneBeforeKill = 0;
    await until(
      'the finalizer to be mid-run',
      async () => {
        doneBeforeKill = await finalizerMetric('mp_finalizer_minutes_total', '');
        return doneBeforeKill > 0;
      },
      60_000,
    );
    await stack.service('minute-finalizer').stop('SIGKILL');
    log(`finalizer SIGKILLed after finalizing ${doneBeforeKill} minutes of its run`);
    await running;
    await stack.service('minute-finalizer').restart();
    // A run counts once it finished (the killed one's lease has to expire first): two complete runs.
    const tick = async () => {
      const before = await finalizerMetric('mp_finalizer_runs_total', 'outcome="ok"');
      await until(
        'a complete finalizer run',
        async () => {
          expect((await post()).status).toBe(204);
          return (await finalizerMetric('mp_finalizer_runs_total', 'outcome="ok"')) > before;
        },
        60_000,
      );
    };
    await tick();
    await tick();

    for (const s of SYMBOLS) {
      const byMinute = new Map<number, Trade[]>();
      for (const t of truth.get(s)!) {
        const m = minuteOf(t.t);
        byMinute.set(m, [...(byMinute.get(m) ?? []), t]);
      }
      const rs = await ks.client.execute(
        'SELECT minute, open, high, low, close, trades, volume, vwap, volume_e8, price_e8, notional_e6 FROM candles_1m WHERE symbol = ? AND minute >= ? AND minute <= ?',
        [s, new Date(minuteOf(span.from)), new Date(span.to)],
        { prepare: true },
      );
      expect(rs.rows.length, `${s} minutes`).toBe(byMinute.size);
      const live = new Map(
        (await ks.store.liveRange(s, minuteOf(span.from), span.to + 1)).map((r) => [r.minute, r]),
      );
      for (const r of rs.rows) {
        const minute = (r.minute as Date).getTime();
        // Ground truth order within a millisecond is the feed's send order (stable sort keeps it).
        const want = expectedCandle([...byMinute.get(minute)!].sort((a, b) => a.t - b.t));
        const got = {
          open: r.open,
          high: r.high,
          low: r.low,
          close: r.close,
          trades: Number(r.trades),
          volume: r.volume,
        };
        const { vwap: _vwap, ...wantExact } = want;
        expect(got, `${s} ${new Date(minute).toISOString()}`).toEqual(wantExact);
        if (want.vwap === null) expect(r.vwap).toBeNull();
        else expect(Math.abs(r.vwap - want.vwap) / want.vwap).toBeLessThan(1e-9);
        const l = live.get(minute)!;
        expect([l.trades, l.volumeE8, l.priceE8, l.notionalE6], `${s} live counters`).toEqual([
          BigInt(String(r.trades)),
          BigInt(String(r.volume_e8)),
          BigInt(String(r.price_e8)),
          BigInt(String(r.notional_e6)),
        ]);
      }
    }
  }, 900_000);
});
