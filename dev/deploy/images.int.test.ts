/**
 * Every image the cluster runs is built here with podman from the Dockerfile and run as the cluster runs it
 * (the rendered gcp overlay's user, read-only root filesystem, capabilities, env and mounts; dev/deploy/
 * pod-run.ts), against the real Kafka and Cassandra of the test run:
 *   schema            migrates a fresh keyspace and exits 0
 *   trade-writer      stores a CloudEvent posted exactly as its KafkaSource posts it (binary mode, ce-* headers)
 *   minute-window     the same for its KafkaSource
 *   minute-finalizer  handles its PingSource's event
 *   bridge            becomes ready and writes the trades of a replay feed (on the host) to Kafka
 * The only base image without a registry is the locally assembled Node runtime (RUNTIME_IMAGE build argument);
 * the image content is the host-made bundle, the same bytes `npm run deploy -- <name> --dry-run` reports.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCassandraClient } from '../../shared/cassandra/client.ts';
import { buildTradeBatchEvent, toKafkaRecord } from '../../shared/contract/event.ts';
import { hostSpec } from '../../shared/host/process.ts';
import { createKafkaClient } from '../../shared/kafka/index.ts';
import { MINUTE_MS, minuteOf, tradeBucketOf } from '../../shared/market/time.ts';
import { testCassandraConfig } from '../../test/cassandra.ts';
import { uniqueName } from '../../test/fixtures.ts';
import { quietLog } from '../../test/market-fixtures.ts';
import { postOnce } from '../dispatcher/dispatch.ts';
import { httpBinaryHeaders, pingEvent, recordToEvent } from '../dispatcher/events.ts';
import { type ReplayFeed, startReplayFeed } from '../replay-feed/server.ts';
import { bundle, type Deployable, ENTRIES, repoRoot } from './bundle.ts';
import { imageRepository, type K8sObject, podContainers, renderOverlay } from './deploy.ts';
import { buildCommand, contentDigest } from './image.ts';
import { PODMAN_RUN_FLAGS, planContainer, podman } from './pod-run.ts';
import { freePort } from './run-bundle.ts';

const log = (line: string) => process.stderr.write(`[images] ${line}\n`);
const NAMES = Object.keys(ENTRIES) as Deployable[];
// One tag per checkout: concurrent runs of other checkouts never build over each other's images, and a
// second run here reuses the layers.
const TAG = `test-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 8)}`;
const image = (n: string) => `localhost/${imageRepository(n)}:${TAG}`;
const buildSeconds: Record<string, number> = {};
const all = renderOverlay('gcp');
const started: string[] = [];
const cleanups: (() => void)[] = [];

/** The Secrets of the overlay, filled with test values (the shared runtime has no auth, any value passes). */
const SECRETS = {
  'cassandra-app': { username: 'market_app', password: 'app-secret' },
  'cassandra-admin': { username: 'admin', password: 'admin-secret' },
  'kafka-sasl-bridge': { password: 'kafka-secret' },
  'finnhub-token': { token: 'test-finnhub-token' },
};

function workloadOf(name: Deployable): { o: K8sObject; container: string } {
  for (const o of all) {
    for (const c of podContainers(o)) {
      if (typeof c.image === 'string' && c.image.split(':')[0].endsWith(imageRepository(name)))
        return { o, container: c.name };
    }
  }
  throw new Error(`no workload of the gcp overlay runs ${imageRepository(name)}`);
}

/** Starts the deployable's container detached; returns its name. */
function runDetached(name: Deployable, overrides: Record<string, string>, knativePort?: number): string {
  const { o, container } = workloadOf(name);
  const plan = planContainer(o, container, {
    all,
    secrets: SECRETS,
    envOverrides: overrides,
    ...(knativePort !== undefined ? { knativePort } : {}),
  });
  cleanups.push(plan.cleanup);
  expect(plan.readOnlyRoot).toBe(true);
  const cname = `mp-${name}-${TAG}-${process.pid}`;
  podman(['rm', '-f', '--ignore', cname]);
  podman(['run', '-d', '--name', cname, ...PODMAN_RUN_FLAGS, ...plan.args, image(name)]);
  started.push(cname);
  return cname;
}

const logsOf = (cname: string) => spawnSync('podman', ['logs', cname], { encoding: 'utf8' });
const untilOr = async (what: string, cname: string, check: () => Promise<boolean>, ms = 90_000) => {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) {
      const l = logsOf(cname);
      throw new Error(`${what}: gave up after ${ms} ms; container logs:\n${l.stdout}${l.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
};
const ready = (port: number) => async () =>
  (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200;

const cassandraEndpoint = () => ({
  CASSANDRA_CONTACT_POINTS: inject('cassandraContactPoints').join(','),
  CASSANDRA_LOCAL_DC: inject('cassandraLocalDataCenter'),
});

beforeAll(async () => {
  const t0 = Date.now();
  const base = execFileSync('sh', ['dev/deploy/local-base-images.sh'], {
    cwd: repoRoot,
    encoding: 'utf8',
  }).trim();
  log(`local runtime base ${base} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const name of NAMES) {
    const t = Date.now();
    await bundle(name);
    const [tool, ...args] = buildCommand('podman', name, image(name), { RUNTIME_IMAGE: base });
    const r = spawnSync(tool as string, [args[0] as string, '-q', ...args.slice(1)], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`building ${image(name)} failed:\n${r.stderr}`);
    buildSeconds[name] = (Date.now() - t) / 1000;
  }
  log(`bundle + build: ${NAMES.map((n) => `${n} ${buildSeconds[n]?.toFixed(1)} s`).join(', ')}`);
}, 600_000);

afterAll(() => {
  for (const c of started) spawnSync('podman', ['rm', '-f', '-t', '2', c]);
  // Earlier builds of these tags, now untagged: only ours (by label); the tagged images stay for reuse.
  spawnSync('podman', [
    'image',
    'prune',
    '-f',
    '--filter',
    'label=org.opencontainers.image.source=market-pipeline',
  ]);
  for (const c of cleanups) c();
});

describe('images', () => {
  it.each(NAMES)(
    '%s: linux/amd64, uid 65532, node main.js in /app holding exactly the deploy bundle',
    (name) => {
      const [info] = JSON.parse(podman(['image', 'inspect', image(name)])) as {
        Architecture: string;
        Os: string;
        Config: { User: string; Entrypoint: string[]; Cmd: string[]; WorkingDir: string };
      }[];
      expect(info?.Os).toBe('linux');
      expect(info?.Architecture).toBe('amd64');
      expect(info?.Config.User).toBe('65532:65532');
      expect([...(info?.Config.Entrypoint ?? []), ...(info?.Config.Cmd ?? [])]).toEqual([
        '/nodejs/bin/node',
        'main.js',
      ]);
      expect(info?.Config.WorkingDir).toBe('/app');

      const mnt = podman(['image', 'mount', image(name)]).trim();
      let inImage: string;
      try {
        inImage = contentDigest(`${mnt}/app`, () => true);
      } finally {
        podman(['image', 'unmount', image(name)]);
      }
      // What `npm run deploy -- <name> --dry-run` reports for this commit (it bundles again, into dist/).
      const { PATH, HOME } = process.env;
      const dry = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'dev/deploy/deploy.ts', name, '--dry-run'],
        {
          cwd: repoRoot,
          encoding: 'utf8',
          env: {
            PATH,
            HOME,
            IMAGE_REGISTRY: 'registry.example/market',
            IMAGE_TAG: 't1',
            IMAGE_BUILDER: 'podman',
          },
        },
      );
      expect(dry.status, dry.stderr).toBe(0);
      expect(dry.stdout).toContain(
        `$ ${buildCommand('podman', name, `registry.example/market/${imageRepository(name)}:t1`).join(' ')}`,
      );
      expect(/image content (sha256:[0-9a-f]{64})/.exec(dry.stdout)?.[1]).toBe(inImage);
    },
    120_000,
  );
});

describe('ports', () => {
  // Containers share the host network here, so each listens on a free port given through the same variable
  // Knative (PORT) or the manifest (BRIDGE_HTTP_PORT) sets; the cluster's port must be the one the image serves.
  it.each(NAMES.filter((n) => n !== 'schema'))(
    '%s: the manifest port is the one the image exposes and the process listens on',
    (name) => {
      const { o, container } = workloadOf(name);
      // biome-ignore lint/suspicious/noExplicitAny: containers are free-form
      const c = podContainers(o).find((x: any) => x.name === container);
      const port = c?.ports?.[0]?.containerPort;
      const [info] = JSON.parse(podman(['image', 'inspect', image(name)])) as {
        Config: { ExposedPorts?: Record<string, unknown> };
      }[];
      expect(Object.keys(info?.Config.ExposedPorts ?? {})).toContain(`${port}/tcp`);
      if (name === 'bridge') {
        expect(c.env.find((e: { name: string }) => e.name === 'BRIDGE_HTTP_PORT')?.value).toBe(String(port));
      } else {
        // Knative passes the container port as PORT; the function's default is the same port.
        expect(o.kind).toBe('Service');
        expect(port).toBe(hostSpec.port.default);
      }
    },
  );
});

describe('containers run as the gcp overlay runs them', () => {
  let keyspace: string;
  const client = () =>
    createCassandraClient(testCassandraConfig(keyspace), { applicationName: 'images-test' });

  it('schema: the Job container migrates a fresh keyspace', async () => {
    keyspace = uniqueName('mp_image');
    const { o, container } = workloadOf('schema');
    const plan = planContainer(o, container, {
      all,
      secrets: SECRETS,
      envOverrides: {
        ...cassandraEndpoint(),
        CASSANDRA_KEYSPACE: keyspace,
        CASSANDRA_REPLICATION: `NetworkTopologyStrategy:${inject('cassandraLocalDataCenter')}=1`,
      },
    });
    cleanups.push(plan.cleanup);
    expect(plan.readOnlyRoot).toBe(true);
    const r = spawnSync('podman', ['run', '--rm', ...PODMAN_RUN_FLAGS, ...plan.args, image('schema')], {
      encoding: 'utf8',
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const c = client();
    try {
      const tables = await c.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [
        keyspace,
      ]);
      expect(tables.rows.map((x) => x.get('table_name')).sort()).toEqual(
        expect.arrayContaining(['trades', 'minute_live', 'candles_1m', 'applied_events']),
      );
    } finally {
      await c.shutdown();
    }
  }, 180_000);

  /** A trade batch record as the bridge writes it, posted as the named KafkaSource posts it. */
  async function postAsKafkaSource(port: number, sourceName: string, tradeTime: number) {
    const source = all.find((x) => x.kind === 'KafkaSource' && x.metadata.name === sourceName);
    if (!source) throw new Error(`no KafkaSource ${sourceName}`);
    const ev = buildTradeBatchEvent({
      symbol: 'BINANCE:BTCUSDT',
      trades: [
        { s: 'BINANCE:BTCUSDT', p: 100.5, t: tradeTime, v: 2, c: null },
        { s: 'BINANCE:BTCUSDT', p: 101.25, t: tradeTime + 10, v: 1, c: null },
      ],
      receivedAtMs: tradeTime + 50,
    });
    const rec = toKafkaRecord(ev);
    const headers = Object.fromEntries(Object.entries(rec.headers).map(([k, v]) => [k, Buffer.from(v)]));
    const dispatched = recordToEvent(
      {
        topic: source.spec.topics[0],
        partition: 3,
        offset: '17',
        key: Buffer.from(rec.key),
        value: rec.value,
        headers,
        timestampMs: rec.timestampMs,
      },
      { name: sourceName, namespace: source.metadata.namespace ?? 'market' },
    );
    const sent = httpBinaryHeaders(dispatched, source.metadata.namespace ?? 'market');
    expect(sent['ce-type']).toBe('dev.market-pipeline.trade-batch.v1');
    expect(sent['content-type']).toBe('application/avro');
    const res = await postOnce(`http://127.0.0.1:${port}/`, sent, dispatched.data, 30_000);
    return { res, id: ev.id };
  }

  const tradeTime = minuteOf(Date.now()) - 5 * MINUTE_MS + 1_000;

  it('trade-writer: stores a CloudEvent posted exactly as its KafkaSource posts it', async () => {
    const port = await freePort();
    const cname = runDetached('trade-writer', { ...cassandraEndpoint(), CASSANDRA_KEYSPACE: keyspace }, port);
    await untilOr('trade-writer ready', cname, ready(port));
    const { res, id } = await postAsKafkaSource(port, 'trades', tradeTime);
    expect(res.kind === 'response' ? res.status : res, logsOf(cname).stdout).toBeLessThan(300);
    const c = client();
    try {
      const rows = await c.execute(
        'SELECT event_id, idx, price FROM trades_10s WHERE symbol = ? AND bucket = ?',
        ['BINANCE:BTCUSDT', new Date(tradeBucketOf(tradeTime))],
        { prepare: true },
      );
      expect(
        rows.rows.filter((r) => String(r.get('event_id')) === id).map((r) => Number(r.get('price'))),
      ).toEqual([100.5, 101.25]);
    } finally {
      await c.shutdown();
    }
  }, 180_000);

  it('minute-window: folds a CloudEvent posted exactly as its KafkaSource posts it into the live minute', async () => {
    const port = await freePort();
    const cname = runDetached(
      'minute-window',
      { ...cassandraEndpoint(), CASSANDRA_KEYSPACE: keyspace },
      port,
    );
    await untilOr('minute-window ready', cname, ready(port));
    const { res } = await postAsKafkaSource(port, 'windows', tradeTime);
    expect(res.kind === 'response' ? res.status : res, logsOf(cname).stdout).toBeLessThan(300);
    const c = client();
    try {
      const row = (
        await c.execute(
          'SELECT trades FROM minute_live WHERE symbol = ? AND minute = ?',
          ['BINANCE:BTCUSDT', new Date(minuteOf(tradeTime))],
          { prepare: true },
        )
      ).first();
      expect(Number(row?.get('trades'))).toBe(2);
    } finally {
      await c.shutdown();
    }
  }, 180_000);

  it('minute-finalizer: handles the event its PingSource sends', async () => {
    const ping = all.find((x) => x.kind === 'PingSource');
    if (!ping) throw new Error('no PingSource in the gcp overlay');
    const port = await freePort();
    const cname = runDetached(
      'minute-finalizer',
      { ...cassandraEndpoint(), CASSANDRA_KEYSPACE: keyspace },
      port,
    );
    await untilOr('minute-finalizer ready', cname, ready(port));
    const ev = pingEvent(
      {
        name: ping.metadata.name,
        namespace: ping.metadata.namespace ?? 'market',
        ...(ping.spec.contentType ? { contentType: ping.spec.contentType } : {}),
        ...(ping.spec.data ? { data: Buffer.from(ping.spec.data) } : {}),
      },
      new Date(),
    );
    const res = await postOnce(`http://127.0.0.1:${port}/`, httpBinaryHeaders(ev, 'market'), ev.data, 60_000);
    expect(res.kind === 'response' ? res.status : res, logsOf(cname).stdout).toBeLessThan(300);
    const c = client();
    try {
      const candle = (
        await c.execute(
          'SELECT trades FROM candles_1m WHERE symbol = ? AND minute = ?',
          ['BINANCE:BTCUSDT', new Date(minuteOf(tradeTime))],
          { prepare: true },
        )
      ).first();
      expect(Number(candle?.get('trades'))).toBe(2);
    } finally {
      await c.shutdown();
    }
  }, 180_000);

  describe('bridge', () => {
    let feed: ReplayFeed;
    afterAll(async () => feed?.close());

    it('becomes ready and writes the trades of a replay feed to Kafka', async () => {
      feed = await startReplayFeed({ port: 0, tradesPerSecond: 100 });
      const topic = uniqueName('images');
      const port = await freePort();
      const cname = runDetached('bridge', {
        KAFKA_BROKERS: inject('kafkaBrokers').join(','),
        // The local broker has no SASL listener; the cluster's SCRAM settings are the manifest's.
        KAFKA_SASL_MECHANISM: '',
        KAFKA_SASL_USERNAME: '',
        KAFKA_SASL_PASSWORD_FILE: '',
        KAFKA_TOPIC: topic,
        FINNHUB_URL: feed.url,
        BRIDGE_HTTP_PORT: String(port),
      });
      await untilOr('bridge ready', cname, ready(port));
      const kafka = createKafkaClient({
        brokers: inject('kafkaBrokers'),
        clientId: 'images-test',
        logger: quietLog,
      });
      const admin = await kafka.admin();
      try {
        await untilOr('trades in Kafka', cname, async () => {
          const ends = await admin.endOffsets(topic);
          return Object.values(ends).some((o) => Number(o) > 0);
        });
      } finally {
        await admin.close();
        await kafka.close();
      }
      // The token came from the mounted Secret file, as FINNHUB_TOKEN_FILE says.
      expect(feed.tokensSeen).toContain(SECRETS['finnhub-token'].token);
    }, 180_000);
  });
});
