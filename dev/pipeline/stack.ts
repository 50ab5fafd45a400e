import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from './ports.ts';
import { repoRoot, Service, type ServiceEvent } from './service.ts';

/** Partitions of the local topic; also what the bridge is told, so it never grows the topic under a consumer. */
export const LOCAL_TOPIC_PARTITIONS = 6;

/** Topics the committed manifests name; the stack renames them to its own (`DISPATCHER_TOPICS`). */
const MANIFEST_TOPIC = 'market';
const MANIFEST_DEAD_LETTER_TOPIC = 'market-dead-letters';

/** Where the dead-letter sink writes for events of `topic` (`market` -> `market-dead-letters`, as committed). */
export const deadLetterTopic = (topic: string) => `${topic}-dead-letters`;

export type ServiceName =
  | 'trade-writer'
  | 'minute-window'
  | 'minute-finalizer'
  | 'dispatcher'
  | 'bridge'
  | 'replay-feed'
  | 'viewer';

export interface StackOptions {
  readonly kafkaBrokers: readonly string[];
  readonly cassandraContactPoints: readonly string[];
  readonly cassandraLocalDataCenter: string;
  readonly keyspace: string;
  readonly topic: string;
  /** Kustomization dir or YAML the dispatcher reads (default: the local overlay). */
  readonly manifests?: string;
  /** Where service logs and the bridge spool go. */
  readonly workDir: string;
  /**
   * Connect the bridge to this feed (e.g. Finnhub, or a feed a test runs); unset: the stack runs the replay
   * feed (dev/replay-feed/main.ts) as its own process and points the bridge's FINNHUB_URL at it.
   */
  readonly feedUrl?: string;
  /** Extra environment for every service (e.g. FINNHUB_TOKEN, REPLAY_TRADES_PER_SECOND). */
  readonly env?: Readonly<Record<string, string>>;
  /** Per-service extra environment. */
  readonly serviceEnv?: Partial<Record<ServiceName, Readonly<Record<string, string>>>>;
  /** Fixed ports; 0 or unset picks free ones. */
  readonly ports?: Partial<Record<ServiceName, number>>;
  /** Crashes and restarts of the services (each is restarted with backoff). */
  readonly onServiceEvent?: (e: ServiceEvent) => void;
  /** Which services to run (default: all that exist). */
  readonly only?: readonly ServiceName[];
}

export interface Stack {
  readonly services: ReadonlyMap<ServiceName, Service>;
  readonly urls: Readonly<Record<ServiceName, string>>;
  service(name: ServiceName): Service;
  /** SIGTERM in reverse start order: the bridge flushes first, the functions last. */
  stop(): Promise<void>;
}

/** Entry point of each service (relative to the repo root) and its arguments. */
export const SERVICE_ENTRIES: Record<ServiceName, readonly [entry: string, ...args: string[]]> = {
  'trade-writer': ['functions/main.ts', 'trade-writer'],
  'minute-window': ['functions/main.ts', 'minute-window'],
  'minute-finalizer': ['functions/main.ts', 'minute-finalizer'],
  dispatcher: ['dev/dispatcher/main.ts'],
  bridge: ['functions/bridge/main.ts'],
  'replay-feed': ['dev/replay-feed/main.ts'],
  viewer: ['dev/viewer/main.ts'],
};
export const SERVICE_ORDER: ServiceName[] = [
  'trade-writer',
  'minute-window',
  'minute-finalizer',
  'dispatcher',
  'replay-feed',
  'bridge',
  'viewer',
];

/** Starts the local pipeline's processes against an already running Kafka and Cassandra. */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const names = SERVICE_ORDER.filter((n) =>
    n === 'replay-feed' && opts.feedUrl
      ? false
      : opts.only
        ? opts.only.includes(n)
        : existsSync(resolve(repoRoot, SERVICE_ENTRIES[n][0])),
  );
  const ports = {} as Record<ServiceName, number>;
  for (const n of SERVICE_ORDER) ports[n] = opts.ports?.[n] || (await freePort());
  const urls = Object.fromEntries(SERVICE_ORDER.map((n) => [n, `http://127.0.0.1:${ports[n]}`])) as Record<
    ServiceName,
    string
  >;

  const common: Record<string, string> = {
    CASSANDRA_CONTACT_POINTS: opts.cassandraContactPoints.join(','),
    CASSANDRA_LOCAL_DC: opts.cassandraLocalDataCenter,
    CASSANDRA_KEYSPACE: opts.keyspace,
    KAFKA_BROKERS: opts.kafkaBrokers.join(','),
    KAFKA_TOPIC: opts.topic,
    KAFKA_TOPIC_PARTITIONS: String(LOCAL_TOPIC_PARTITIONS),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    ...opts.env,
  };
  const own: Record<ServiceName, Record<string, string>> = {
    'trade-writer': { PORT: String(ports['trade-writer']), HOST: '127.0.0.1' },
    'minute-window': { PORT: String(ports['minute-window']), HOST: '127.0.0.1' },
    'minute-finalizer': { PORT: String(ports['minute-finalizer']), HOST: '127.0.0.1' },
    dispatcher: {
      DISPATCHER_PORT: String(ports.dispatcher),
      DISPATCHER_HOST: '127.0.0.1',
      DISPATCHER_MANIFESTS: opts.manifests ?? resolve(repoRoot, 'knative/overlays/local'),
      DISPATCHER_TOPICS: `${MANIFEST_TOPIC}=${opts.topic},${MANIFEST_DEAD_LETTER_TOPIC}=${deadLetterTopic(opts.topic)}`,
      DISPATCHER_SINKS: (['trade-writer', 'minute-window', 'minute-finalizer'] as const)
        .map((n) => `${n}=${urls[n]}`)
        .join(','),
    },
    bridge: {
      BRIDGE_HTTP_PORT: String(ports.bridge),
      BRIDGE_HTTP_HOST: '127.0.0.1',
      BRIDGE_SPOOL_DIR: join(opts.workDir, 'bridge-spool'),
      FINNHUB_URL: opts.feedUrl ?? `ws://127.0.0.1:${ports['replay-feed']}`,
    },
    'replay-feed': { REPLAY_HOST: '127.0.0.1', REPLAY_PORT: String(ports['replay-feed']) },
    viewer: {
      VIEWER_PORT: String(ports.viewer),
      VIEWER_HOST: '127.0.0.1',
      VIEWER_SCRAPE_URLS: (
        ['bridge', 'dispatcher', 'trade-writer', 'minute-window', 'minute-finalizer'] as const
      )
        .map((n) => `${urls[n]}/metrics`)
        .join(','),
    },
  };

  const services = new Map<ServiceName, Service>();
  const stack: Stack = {
    services,
    urls,
    service(name) {
      const s = services.get(name);
      if (!s) throw new Error(`service ${name} is not part of this stack`);
      return s;
    },
    async stop() {
      for (const n of [...services.keys()].reverse()) {
        await services.get(n)!.stop();
        services.get(n)!.closeLog();
      }
    },
  };
  try {
    for (const n of names) {
      const s = new Service(
        {
          name: n,
          entry: SERVICE_ENTRIES[n][0],
          args: SERVICE_ENTRIES[n].slice(1),
          url: urls[n],
          env: { ...common, ...own[n], ...opts.serviceEnv?.[n] },
        },
        join(opts.workDir, 'logs', `${n}.log`),
        opts.onServiceEvent,
      );
      services.set(n, s);
      s.start();
    }
    await Promise.all([...services.values()].map((s) => s.waitReady()));
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}
