/**
 * `npm start`: the whole pipeline on this machine. Real Kafka and Cassandra (dev/runtime), the schema, the
 * bridge (reading the replay feed process without FINNHUB_TOKEN, the live market with it), the KafkaSource/PingSource dispatcher
 * reading knative/overlays/local, the three functions and the live viewer. Ctrl-C stops everything.
 */
import { resolve } from 'node:path';
import { FINNHUB_DEFAULT_URL } from '../functions/bridge/config.ts';
import { createCassandraClient } from '../shared/cassandra/client.ts';
import { loadCassandraConfig } from '../shared/cassandra/config.ts';
import { migrate } from '../shared/cassandra/migrate.ts';
import { ConfigError, loadConfig } from '../shared/config/env.ts';
import { gracefulShutdown } from '../shared/host/shutdown.ts';
import { createKafkaClient } from '../shared/kafka/index.ts';
import { createLogger } from '../shared/observability/logger.ts';
import { assertPortFree } from './pipeline/ports.ts';
import { repoRoot } from './pipeline/service.ts';
import {
  deadLetterTopic,
  LOCAL_TOPIC_PARTITIONS,
  type ServiceName,
  type Stack,
  startStack,
} from './pipeline/stack.ts';
import { isRuntimeError } from './runtime/errors.ts';
import { acquireRuntime, type Runtime } from './runtime/runtime.ts';
import { startSpec } from './start-config.ts';

const say = (line: string) => process.stdout.write(`[start] ${line}\n`);
const quiet = createLogger('start', { level: 'warn' });

async function prepare(runtime: Runtime, keyspace: string, topic: string, dlq: string): Promise<void> {
  const cassandra = createCassandraClient(
    loadCassandraConfig({
      CASSANDRA_CONTACT_POINTS: runtime.cassandra.contactPoints.join(','),
      CASSANDRA_LOCAL_DC: runtime.cassandra.localDataCenter,
      CASSANDRA_KEYSPACE: keyspace,
    }),
    { withoutKeyspace: true, applicationName: 'start' },
  );
  try {
    const r = await migrate(cassandra, {
      keyspace,
      replication: { class: 'SimpleStrategy', factors: { replication_factor: 1 } },
    });
    say(
      `schema: keyspace ${keyspace}, ${r.applied.length} migration(s) applied, ${r.skipped.length} already there`,
    );
  } finally {
    await cassandra.shutdown();
  }
  const kafka = createKafkaClient({ brokers: runtime.kafka.brokers, clientId: 'start', logger: quiet });
  try {
    const admin = await kafka.admin();
    await admin.ensureTopic(topic, LOCAL_TOPIC_PARTITIONS);
    await admin.ensureTopic(dlq, 1);
    say(`kafka: topics ${topic} (${LOCAL_TOPIC_PARTITIONS} partitions) and ${dlq} ready`);
  } finally {
    await kafka.close();
  }
}

/** Restarts of the runtime's JVMs, counted from its events (only an owned runtime restarts them). */
const jvmRestarts = new Map<string, number>();

function statusBlock(runtime: Runtime, stack: Stack, live: boolean, workDir: string): string {
  const row = (name: string, where: string) => `  ${name.padEnd(18)} ${where}`;
  const jvm = (n: 'kafka' | 'cassandra') => {
    const r = jvmRestarts.get(n) ?? 0;
    return r > 0 ? `  restarts: ${r}` : '';
  };
  const restarts = (n: ServiceName) => {
    const r = stack.services.get(n)?.restarts ?? 0;
    return r > 0 ? `  restarts: ${r}` : '';
  };
  const names: ServiceName[] = ['bridge', 'dispatcher', 'trade-writer', 'minute-window', 'minute-finalizer'];
  return [
    '',
    'market pipeline is running',
    row('viewer', `${stack.urls.viewer}/   <- open this${restarts('viewer')}`),
    ...names
      .filter((n) => stack.services.has(n))
      .map((n) => row(n, `${stack.urls[n]}  (/healthz /readyz /metrics)${restarts(n)}`)),
    row('kafka', `${runtime.kafka.brokers.join(',')}${jvm('kafka')}`),
    row('cassandra', `${runtime.cassandra.contactPoints.join(',')}${jvm('cassandra')}`),
    row(
      'feed',
      !stack.services.has('replay-feed')
        ? `${process.env.FINNHUB_URL || FINNHUB_DEFAULT_URL}${live ? ' (FINNHUB_TOKEN set)' : ''}`
        : `replay feed ${stack.urls['replay-feed'].replace('http:', 'ws:')} (set FINNHUB_TOKEN for the live market)${restarts('replay-feed')}`,
    ),
    row('logs', `${resolve(workDir, 'logs')}/<service>.log`),
    '',
    'A process that dies is restarted with backoff, as Kubernetes restarts a pod.',
    'Ctrl-C (or SIGTERM to this process) stops everything. Data is kept; `npm run runtime -- reset` wipes it.',
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  let cfg: ReturnType<typeof loadConfig<typeof startSpec>>;
  try {
    cfg = loadConfig(startSpec);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`[start] ${p}\n`);
      return 2;
    }
    throw err;
  }
  const workDir = resolve(repoRoot, cfg.workDir);
  const ports: Record<ServiceName, number> = {
    'trade-writer': cfg.portBase,
    'minute-window': cfg.portBase + 1,
    'minute-finalizer': cfg.portBase + 2,
    dispatcher: cfg.portBase + 3,
    bridge: cfg.portBase + 4,
    'replay-feed': cfg.portBase + 5,
    viewer: cfg.viewerPort,
  };
  for (const [name, port] of Object.entries(ports)) {
    await assertPortFree(port, name, name === 'viewer' ? 'VIEWER_PORT' : 'LOCAL_PORT_BASE');
  }

  // Signals are handled from the first moment: a SIGTERM while the jars download or the services start
  // stops what is already running. Children never outlive us (the runtime's JVMs and Maven run under the
  // watchdog, the services under exit-with-parent), so exiting is enough for anything not yet tracked.
  let runtime: Runtime | undefined;
  let stack: Stack | undefined;
  let stopping = false;
  const shutdown = gracefulShutdown({
    signals: ['SIGINT', 'SIGTERM', 'SIGHUP'],
    // Services get their own grace each (dev/pipeline/service.ts), the runtime's JVMs theirs; this bounds the lot.
    graceMs: 180_000,
    log: {
      info: (o, msg) =>
        say(msg === 'stopping' ? `${(o as { reason: string }).reason}: stopping the pipeline ...` : msg),
      error: (o, msg) => say(`${msg} ${JSON.stringify(o, (_k, v) => (v instanceof Error ? v.message : v))}`),
    },
    steps: [
      {
        name: 'stop starting',
        run: () => {
          stopping = true;
        },
      },
      { name: 'services', run: () => stack?.stop() },
      { name: 'runtime', run: () => (runtime?.owned ? runtime.stop() : undefined) },
    ],
  });
  const stop = (why: string, code: number) => {
    stopping = true;
    return shutdown.exit(why, code);
  };
  // `npm start` runs us under `sh -c`; if a signal ends that shell (or npm), we are re-parented: stop too.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop('parent process ended', 0);
  }, 500).unref();

  const t0 = Date.now();
  let up = false;
  let printStatus = () => {};
  runtime = await acquireRuntime({
    log: say,
    // Only for a runtime we start: one we reuse belongs to whoever started it.
    onJvmEvent: (e) => {
      if (stopping) return;
      if (e.kind === 'exited') {
        say(
          `${e.service} exited (code ${e.code}); restarting in ${(e.restartInMs / 1000).toFixed(1)} s (data kept)`,
        );
        return;
      }
      jvmRestarts.set(e.service, e.restarts);
      say(
        `${e.service} restarted (restart ${e.restarts}, pid ${e.pid}); ready again in ${(e.readyMs / 1000).toFixed(1)} s`,
      );
      if (up) printStatus();
    },
  });
  if (stopping) return -1;
  if (!runtime.owned)
    say(
      'kafka and cassandra: reusing a runtime npm start did not start; npm start will not restart them if they die',
    );
  const dlq = deadLetterTopic(cfg.topic);
  await prepare(runtime, cfg.keyspace, cfg.topic, dlq);
  const live = Boolean(process.env.FINNHUB_TOKEN || process.env.FINNHUB_TOKEN_FILE);
  // Without a token the replay feed runs as its own process and the bridge reads it by URL like any feed.
  const feedUrl = process.env.FINNHUB_URL || (live ? FINNHUB_DEFAULT_URL : undefined);
  say('starting functions, dispatcher, bridge and viewer ...');
  const started = startStack({
    kafkaBrokers: runtime.kafka.brokers,
    cassandraContactPoints: runtime.cassandra.contactPoints,
    cassandraLocalDataCenter: runtime.cassandra.localDataCenter,
    keyspace: cfg.keyspace,
    topic: cfg.topic,
    workDir,
    ports,
    env: { FINNHUB_SYMBOLS: cfg.replaySymbols.join(',') },
    ...(feedUrl ? { feedUrl } : {}),
    onServiceEvent: (e) => {
      if (stopping) return;
      if (e.kind === 'exited') {
        const how = e.signal ? `signal ${e.signal}` : `code ${e.code}`;
        say(`${e.service} exited (${how}); restarting in ${(e.restartInMs / 1000).toFixed(1)} s`);
        return;
      }
      say(`${e.service} restarted (restart ${e.restarts}, pid ${e.pid})`);
      const s = stack?.services.get(e.service as ServiceName);
      void s
        ?.waitReady()
        .then(() => {
          if (stopping || !up || !runtime || !stack) return;
          say(`${e.service} ready again`);
          process.stdout.write(statusBlock(runtime, stack, live, workDir));
        })
        .catch(() => {});
    },
  });
  stack = await started;
  if (stopping) return -1;
  up = true;
  printStatus = () => {
    if (runtime && stack) process.stdout.write(statusBlock(runtime, stack, live, workDir));
  };
  say(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  process.stdout.write(statusBlock(runtime, stack, live, workDir));
  return -1;
}

try {
  const code = await main();
  if (code >= 0) process.exit(code);
} catch (err) {
  // Causes with a known fix are one line; anything else keeps its stack for the bug report.
  process.stderr.write(
    `[start] ${isRuntimeError(err) || err instanceof Error ? err.message : String(err)}\n`,
  );
  if (!isRuntimeError(err) && err instanceof Error && process.env.LOG_LEVEL === 'debug')
    process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
