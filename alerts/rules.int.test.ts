/**
 * Every alert of alerts/catalogue.ts, evaluated by the real `promtool test rules` over series taken from real
 * scrapes of the running pipeline (replay feed -> bridge -> Kafka -> dispatcher -> functions -> Cassandra).
 *
 * The pipeline runs a live replay-feed market. The scrapes give each series its exact name, labels and values, and two scrapes a few seconds apart give
 * each counter its real rate. A scenario runs those series forward for 30 minutes of promtool time:
 * "healthy" keeps them as scraped (counters at their rate, the finalized minute keeping pace with the
 * clock); each "fires" scenario changes only what the alert is about (the frame counter stops, Kafka turns
 * unavailable, ...). Dead letters are real: the test writes an undecodable record to the topic and scrapes
 * the dispatcher's dead-letter counter after it. The exporters' series (kafka_exporter, kube-state-metrics,
 * `up`) exist only in the cluster: they are written here in the shape those exporters expose, with the
 * names of shared/observability/catalogue.ts and the objects of knative/overlays/gcp.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeManifestCopy } from '../dev/pipeline/manifests.ts';
import { LOCAL_TOPIC_PARTITIONS, type Stack, startStack } from '../dev/pipeline/stack.ts';
import { type ReplayFeed, startReplayFeed } from '../dev/replay-feed/server.ts';
import { parsePromText, type Sample } from '../dev/viewer/prom-text.ts';
import { createKafkaClient } from '../shared/kafka/index.ts';
import type { KafkaAdmin, KafkaClient } from '../shared/kafka/types.ts';
import { MINUTE_MS, minuteOf } from '../shared/market/time.ts';
import { EXTERNAL_METRICS, METRICS } from '../shared/observability/catalogue.ts';
import { createTestKeyspace, type TestKeyspace } from '../test/cassandra.ts';
import { uniqueName } from '../test/fixtures.ts';
import { quietLog } from '../test/market-fixtures.ts';
import { until } from '../test/until.ts';
import {
  ALERTS,
  type AlertName,
  CASSANDRA_JOB,
  CASSANDRA_STATEFULSET,
  DEAD_LETTER_TOPIC,
  KAFKA_JOB,
  LATENESS_S,
  MARKET_TOPIC,
  metric,
  NAMESPACE,
  PRICE_MOVE_DEFAULTS,
  priceMoveExpr,
} from './catalogue.ts';
import { type ExpectedAlert, type InputSeries, num, ramp, STEP_S, testAlert } from './promtool.ts';
import { prometheusRule } from './render.ts';

const SYMBOLS = ['BINANCE:BTCUSDT', 'BINANCE:ETHUSDT', 'AAPL'];
const SERVICES = ['bridge', 'dispatcher', 'trade-writer', 'minute-window', 'minute-finalizer'] as const;
/** 30 minutes of samples; alerts are read at the last one. */
const N = 121;
const EVAL = `${((N - 1) * STEP_S) / 60}m`;
/** Where a "fires" scenario changes a series: 25 minutes in. */
const CHANGE = 100;

let ks: TestKeyspace;
let kafka: KafkaClient;
let admin: KafkaAdmin;
let feed: ReplayFeed;
let stack: Stack;
const topic = uniqueName('alerts');
const dlq = `${topic}_dlq`;
const work = mkdtempSync(join(tmpdir(), 'mp-alerts-'));

interface Scrape {
  readonly atMs: number;
  readonly byService: ReadonlyMap<string, readonly Sample[]>;
}
let first: Scrape;
let second: Scrape;
let afterPoison: Scrape;

async function scrape(): Promise<Scrape> {
  const byService = new Map<string, Sample[]>();
  const atMs = Date.now();
  for (const s of SERVICES) {
    const text = await (await fetch(`${stack.urls[s]}/metrics`)).text();
    byService.set(s, parsePromText(text));
  }
  return { atMs, byService };
}

const sum = (sc: Scrape, name: string) =>
  [...sc.byService.values()]
    .flat()
    .filter((s) => s.name === name)
    .reduce((a, s) => a + s.value, 0);

beforeAll(async () => {
  ks = await createTestKeyspace('mp_alerts');
  kafka = createKafkaClient({ brokers: inject('kafkaBrokers'), clientId: 'alerts', logger: quietLog });
  admin = await kafka.admin();
  await admin.ensureTopic(topic, LOCAL_TOPIC_PARTITIONS);
  await admin.ensureTopic(dlq, 1);
  // A live market: trades stamped "now" at 20/s, pings every second.
  feed = await startReplayFeed({ port: 0, tradesPerSecond: 20, pingIntervalMs: 1000 });
  // Held until the bridge has subscribed: frames of symbols nobody subscribed yet go nowhere.
  feed.setPaused(true);
  stack = await startStack({
    kafkaBrokers: inject('kafkaBrokers'),
    cassandraContactPoints: inject('cassandraContactPoints'),
    cassandraLocalDataCenter: inject('cassandraLocalDataCenter'),
    keyspace: ks.keyspace,
    topic,
    manifests: writeManifestCopy(join(work, 'manifests'), {
      topic,
      deadLetterTopic: dlq,
      groupSuffix: uniqueName('alerts'),
    }),
    workDir: work,
    feedUrl: feed.url,
    only: [...SERVICES],
    env: { FINNHUB_SYMBOLS: SYMBOLS.join(','), LOG_LEVEL: 'warn' },
    serviceEnv: { dispatcher: { DISPATCHER_PING_SCHEDULE: 'false' } },
  });
  await until(
    'the bridge to subscribe every symbol',
    async () => feed.subscriptions().flat().length >= SYMBOLS.length,
    60_000,
  );
  feed.setPaused(false);
  const firstTradeMs = Date.now();
  // Trades stored and counted, and a minute with trades closed (plus the lateness): one finalizer run then
  // finalizes it, as the PingSource would.
  let seen = '';
  await until(
    () => `the recording to be stored (${seen})`,
    async () => {
      const s = await scrape();
      const sent = sum(s, METRICS.bridgeTradesAcked.name);
      const stored = (s.byService.get('trade-writer') ?? [])
        .filter((x) => x.name === METRICS.functionTrades.name)
        .reduce((a, x) => a + x.value, 0);
      seen = `bridge acked ${sent}, received ${sum(s, METRICS.bridgeTrades.name)}, trade-writer stored ${stored}`;
      return stored > 0;
    },
    120_000,
  );
  const closedAt = minuteOf(firstTradeMs) + MINUTE_MS + (LATENESS_S + 2) * 1000;
  await new Promise((r) => setTimeout(r, Math.max(0, closedAt - Date.now())));
  const ready = (await (await fetch(`${stack.urls.dispatcher}/readyz`)).json()) as { pingSources: string[] };
  for (const name of ready.pingSources) {
    const r = await fetch(`${stack.urls.dispatcher}/ping/${name}`, { method: 'POST' });
    expect(r.status, `ping ${name}`).toBe(200);
  }
  first = await scrape();
  await new Promise((r) => setTimeout(r, 5000));
  second = await scrape();
  // A real dead letter: a record no function can decode, dead-lettered by the dispatcher after the 4xx.
  const producer = await kafka.producer();
  await producer.send(topic, [{ key: 'BINANCE:BTCUSDT', value: 'not a trade batch' }]);
  await until(
    'a dead letter',
    async () => sum(await scrape(), METRICS.dispatcherDeadLetters.name) > 0,
    60_000,
  );
  afterPoison = await scrape();
  expect(sum(second, METRICS.finalizedMinute.name), 'a minute was finalized').toBeGreaterThan(0);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  await feed?.close();
  await admin?.deleteTopics([topic, dlq]).catch(() => {});
  await kafka?.close();
  await ks?.drop();
}, 120_000);

// ---- series -----------------------------------------------------------------------------------------

const COUNTERS = new Set(
  [...Object.values(METRICS).filter((d) => d.kind === 'counter')].map((d) => d.name as string),
);
const TIMESTAMPS = new Set([METRICS.finalizedMinute.name as string]);

/** Every process metric a rule reads (names present in METRICS or the prom-client process metrics). */
const PROCESS_NAMES = new Set(
  [...ALERTS.flatMap((a) => a.metrics), 'bridgeLastPrice' as const]
    .map((k) => metric(k))
    .filter((n) => !Object.values(EXTERNAL_METRICS).some((e) => e.name === n)),
);

/** The scraped series run forward at their real pace. */
function healthy(from: Scrape = first, to: Scrape = second): InputSeries[] {
  const out: InputSeries[] = [];
  const dtS = (to.atMs - from.atMs) / 1000;
  for (const [service, samples] of to.byService) {
    for (const s of samples) {
      if (!PROCESS_NAMES.has(s.name)) continue;
      const before = from.byService
        .get(service)
        ?.find((x) => x.name === s.name && JSON.stringify(x.labels) === JSON.stringify(s.labels));
      const labels = { ...s.labels, instance: service };
      let values: string;
      if (COUNTERS.has(s.name)) {
        const perStep = before ? (Math.max(0, s.value - before.value) / dtS) * STEP_S : 0;
        values = ramp(s.value, perStep, N);
      } else if (TIMESTAMPS.has(s.name)) {
        // Same age at every step: a finalizer that keeps up. promtool's clock starts at 0.
        const ageS = to.atMs / 1000 - s.value;
        values = ramp(-ageS, STEP_S, N);
      } else values = ramp(s.value, 0, N);
      out.push({ name: s.name, labels, values });
    }
  }
  return out;
}

/** The exporters' series of a healthy cluster (kafka_exporter, kube-state-metrics, Prometheus' `up`). */
function clusterHealthy(): InputSeries[] {
  const e = EXTERNAL_METRICS;
  const flat = (v: number) => ramp(v, 0, N);
  const out: InputSeries[] = [];
  for (let p = 0; p < 3; p++) {
    for (const g of ['knative-kafka-source-trades', 'knative-kafka-source-windows']) {
      out.push({
        name: e.kafkaConsumerGroupLag.name,
        labels: { consumergroup: g, topic: MARKET_TOPIC, partition: String(p) },
        values: flat(3),
      });
    }
    out.push({
      name: e.kafkaTopicOffset.name,
      labels: { topic: DEAD_LETTER_TOPIC, partition: String(p) },
      values: flat(12),
    });
    out.push({
      name: e.up.name,
      labels: { job: KAFKA_JOB, namespace: 'kafka', pod: `market-combined-${p}` },
      values: flat(1),
    });
    out.push({
      name: e.up.name,
      labels: { job: CASSANDRA_JOB, namespace: NAMESPACE, pod: `${CASSANDRA_STATEFULSET}-${p}` },
      values: flat(1),
    });
    out.push({
      name: e.podRestarts.name,
      labels: {
        namespace: NAMESPACE,
        pod: `trade-writer-00001-deployment-7d4f-${p}`,
        container: 'trade-writer',
      },
      values: flat(0),
    });
  }
  const sts = { namespace: NAMESPACE, statefulset: CASSANDRA_STATEFULSET };
  out.push({ name: e.statefulSetReady.name, labels: sts, values: flat(3) });
  out.push({ name: e.statefulSetReplicas.name, labels: sts, values: flat(3) });
  return out;
}

const named = (series: readonly InputSeries[], name: string) => series.filter((s) => s.name === name);

/** Replaces the values of every series `pick` selects. */
function change(
  series: readonly InputSeries[],
  pick: (s: InputSeries) => boolean,
  values: (s: InputSeries) => string,
): InputSeries[] {
  const out = series.map((s) => (pick(s) ? { ...s, values: values(s) } : s));
  if (out.every((s, i) => s === series[i]))
    throw new Error('the scenario changed no series: the metric was not scraped');
  return out;
}

/** The value at sample `i` of a `start+stepxN` series. */
function valueAt(values: string, i: number): number {
  const m = /^(-?[\d.]+)\+(-?[\d.]+)x\d+$/.exec(values);
  if (!m) throw new Error(`not a ramp: ${values}`);
  return Number(m[1]) + Number(m[2]) * i;
}

/** Keeps the series as it was up to sample `at`, then holds `next(valueThen)`. */
const holdFrom = (at: number, next: (v: number) => number) => (s: InputSeries) => {
  const v = valueAt(s.values, at - 1);
  return `${s.values.replace(/x\d+$/, `x${at - 1}`)} ${num(next(v))}+0x${N - at - 1}`;
};

// ---- the rules ----------------------------------------------------------------------------------------

const rule = prometheusRule();
const group = rule.spec.groups[0]!;
const alertDef = (name: AlertName) => ALERTS.find((a) => a.name === name)!;
const expect1 = (name: AlertName, labels: Record<string, string> = {}): ExpectedAlert => ({
  labels: { alertname: name, severity: alertDef(name).severity, ...labels },
  annotations: { summary: alertDef(name).summary, runbook: alertDef(name).runbook },
});

interface Scenario {
  readonly series: () => InputSeries[];
  readonly expected: () => ExpectedAlert[];
}

const FIRES: Record<AlertName, Scenario> = {
  MarketFeedSilent: {
    series: () =>
      change(
        [...healthy(), ...clusterHealthy()],
        (s) => s.name === METRICS.bridgeFrames.name,
        holdFrom(CHANGE, (v) => v),
      ),
    expected: () => [expect1('MarketFeedSilent')],
  },
  MarketConsumerLagGrowing: {
    series: () => {
      const lag = named(healthy(), METRICS.dispatcherLag.name)[0];
      if (!lag) throw new Error('the dispatcher exposed no consumer lag');
      const key = JSON.stringify(lag.labels);
      return change(
        [...healthy(), ...clusterHealthy()],
        (s) => s.name === lag.name && JSON.stringify(s.labels) === key,
        () => ramp(0, 10, N),
      );
    },
    expected: () => {
      const lag = named(healthy(), METRICS.dispatcherLag.name)[0]!;
      return [expect1('MarketConsumerLagGrowing', { source: lag.labels.source! })];
    },
  },
  MarketDeadLetters: {
    // The dead-letter counters as really scraped after the poison record, born 28 minutes in.
    series: () => [
      ...healthy(),
      ...clusterHealthy(),
      ...named(healthy(second, afterPoison), METRICS.dispatcherDeadLetters.name).map((s) => ({
        ...s,
        values: `_x${CHANGE + 12} ${num(valueAt(s.values, 0))}+0x${N - CHANGE - 13}`,
      })),
    ],
    expected: () =>
      [
        ...new Set(
          named(healthy(second, afterPoison), METRICS.dispatcherDeadLetters.name).map(
            (s) => s.labels.source!,
          ),
        ),
      ]
        .sort()
        .map((source) => expect1('MarketDeadLetters', { source })),
  },
  MarketFinalizedMinuteStale: {
    series: () =>
      change(
        [...healthy(), ...clusterHealthy()],
        (s) => s.name === METRICS.finalizedMinute.name,
        holdFrom(80, (v) => v),
      ),
    expected: () => [expect1('MarketFinalizedMinuteStale')],
  },
  MarketProcessRestarting: {
    series: () =>
      change(
        [...healthy(), ...clusterHealthy()],
        (s) => s.name === metric('processStartTime') && s.labels.service === 'trade-writer',
        holdFrom(CHANGE, (v) => v + CHANGE * STEP_S),
      ),
    expected: () => [expect1('MarketProcessRestarting', { service: 'trade-writer' })],
  },
  MarketCassandraDown: {
    series: () =>
      change(
        [...healthy(), ...clusterHealthy()],
        (s) => s.name === EXTERNAL_METRICS.statefulSetReady.name,
        holdFrom(CHANGE, (v) => v - 1),
      ),
    expected: () => [expect1('MarketCassandraDown')],
  },
  MarketKafkaDown: {
    series: () =>
      change(
        [...healthy(), ...clusterHealthy()],
        (s) => s.name === METRICS.bridgeKafkaAvailable.name,
        holdFrom(CHANGE, () => 0),
      ),
    expected: () => [expect1('MarketKafkaDown')],
  },
  MarketBridgeSpooling: {
    series: () =>
      change(
        [...healthy(), ...clusterHealthy()],
        (s) => s.name === METRICS.bridgeSpoolDepth.name,
        holdFrom(CHANGE, () => 250),
      ),
    expected: () => [expect1('MarketBridgeSpooling')],
  },
};

const run = (
  alertname: string,
  series: InputSeries[],
  expected: ExpectedAlert[],
  groups: Parameters<typeof testAlert>[0]['groups'] = [group],
) => {
  const r = testAlert({ groups, series, alertname, evalTime: EVAL, expected });
  expect(r.ok, r.output).toBe(true);
};

describe('alert rules over real scrapes (promtool test rules)', () => {
  it('reads only metrics the processes really expose', () => {
    const scraped = new Set([...afterPoison.byService.values()].flat().map((s) => s.name));
    expect([...PROCESS_NAMES].filter((n) => !scraped.has(n))).toEqual([]);
  });

  it.each(ALERTS.map((a) => a.name))('%s stays quiet on the healthy pipeline', (name) => {
    run(name, [...healthy(), ...clusterHealthy()], []);
  });

  it.each(ALERTS.map((a) => a.name))('%s fires when its condition holds', (name) => {
    const s = FIRES[name];
    run(name, s.series(), s.expected());
  });

  it('MarketDeadLetters stays quiet when the dead letters are older than the window', () => {
    const old = named(healthy(second, afterPoison), METRICS.dispatcherDeadLetters.name);
    expect(old.length).toBeGreaterThan(0);
    run('MarketDeadLetters', [...healthy(), ...clusterHealthy(), ...old], []);
  });

  it('the cluster-only terms fire too (kube-state-metrics restarts, kafka_exporter lag and dead-letter offsets)', () => {
    const e = EXTERNAL_METRICS;
    const restarts = change(
      [...healthy(), ...clusterHealthy()],
      (s) => s.name === e.podRestarts.name && s.labels.pod!.endsWith('-0'),
      holdFrom(CHANGE, (v) => v + 1),
    );
    const pod = restarts.find((s) => s.name === e.podRestarts.name)!.labels;
    run('MarketProcessRestarting', restarts, [
      expect1('MarketProcessRestarting', { pod: pod.pod!, container: pod.container! }),
    ]);
    const lag = change(
      [...healthy(), ...clusterHealthy()],
      (s) => s.name === e.kafkaConsumerGroupLag.name && s.labels.consumergroup!.endsWith('trades'),
      () => ramp(0, 5, N),
    );
    run('MarketConsumerLagGrowing', lag, [
      expect1('MarketConsumerLagGrowing', { consumergroup: 'knative-kafka-source-trades' }),
    ]);
    const dead = change(
      [...healthy(), ...clusterHealthy()],
      (s) => s.name === e.kafkaTopicOffset.name && s.labels.partition === '1',
      holdFrom(CHANGE + 10, (v) => v + 1),
    );
    run('MarketDeadLetters', dead, [expect1('MarketDeadLetters')]);
  });
});

describe('the price-move rule (Grafana) over the real last-price gauge', () => {
  const pct = PRICE_MOVE_DEFAULTS.pct;
  const groups = [
    {
      name: 'price',
      rules: [{ alert: 'PriceMove', expr: `${priceMoveExpr(PRICE_MOVE_DEFAULTS)} > ${pct}` }],
    },
  ];
  const prices = () => named(healthy(), METRICS.bridgeLastPrice.name);

  it('exposes a last price per subscribed symbol', () => {
    expect(
      prices()
        .map((s) => s.labels.symbol)
        .sort(),
    ).toEqual([...SYMBOLS].sort());
  });

  it('stays quiet while prices hold', () => {
    run('PriceMove', [...healthy()], [], groups);
  });

  it(`fires for the one symbol that moved more than ${pct} % within the window`, () => {
    const series = change(
      healthy(),
      (s) => s.name === METRICS.bridgeLastPrice.name && s.labels.symbol === SYMBOLS[0],
      holdFrom(CHANGE, (v) => v * (1 + (pct + 1) / 100)),
    );
    run('PriceMove', series, [{ labels: { alertname: 'PriceMove', symbol: SYMBOLS[0]! } }], groups);
  });
});
