import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Env } from '../../shared/config/index.ts';
import { Backoff, RESTART_BACKOFF, RESTART_STABLE_MS } from '../../shared/retry/backoff.ts';
import { serviceArtifacts } from './artifacts.ts';
import { inspectCache } from './cache.ts';
import {
  cassandraContactPoints,
  cassandraJvmTuning,
  LOCAL_DATA_CENTER,
  prepareCassandra,
  probeCassandra,
} from './cassandra.ts';
import { loadRuntimeConfig, type RuntimeConfig } from './config.ts';
import { RuntimeError } from './errors.ts';
import { ensureJars } from './fetch.ts';
import { kafkaBrokers, kafkaJvmTuning, prepareKafka, probeKafka } from './kafka.ts';
import { type RuntimePaths, runtimePaths, type ServiceName, services } from './paths.ts';
import { type JavaInfo, preflightPorts, preflightTools } from './preflight.ts';
import { type JvmTuning, type SupervisedJvm, spawnJvm, terminate } from './processes.ts';
import {
  clearState,
  type LiveJvm,
  liveJvms,
  otherUsers,
  ownerAlive,
  type RuntimeEndpoints,
  readState,
  registerUser,
  unregisterUser,
  writeState,
} from './state.ts';
import { waitReady } from './wait.ts';

export type { RuntimeEndpoints } from './state.ts';

/** How the watchdog runs each service's JVM (background threads at nice 19, timer slack). */
const JVM_TUNING: Record<ServiceName, (cfg: RuntimeConfig) => JvmTuning> = {
  kafka: kafkaJvmTuning,
  cassandra: cassandraJvmTuning,
};

export interface RuntimeTimings {
  /** Time spent fetching jars with Maven (0 when the cache was complete). */
  readonly fetchMs: number;
  /** From launching the JVM (or formatting its storage) until it answers. */
  readonly kafkaMs: number;
  readonly cassandraMs: number;
}

export interface Runtime extends RuntimeEndpoints {
  /** true: this process started the services, and `stop()` stops them. false: reused; `stop()` does nothing. */
  readonly owned: boolean;
  readonly timings?: RuntimeTimings;
  /** Resolves if a service of an owned, attached runtime dies on its own (never after `stop()`). */
  readonly unexpectedExit?: Promise<{ service: ServiceName; code: number | null }>;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  /** Settings; default: read from `env`. */
  config?: RuntimeConfig;
  env?: Env;
  /** Progress lines (default: stderr with a `[runtime]` prefix). */
  log?: (line: string) => void;
}

/** What an owned runtime that restarts its JVMs tells its owner: a death (and the wait) and each restart. */
export type JvmEvent =
  | { kind: 'exited'; service: ServiceName; code: number | null; restartInMs: number }
  | { kind: 'restarted'; service: ServiceName; pid: number; restarts: number; readyMs: number };

export interface StartOptions extends RuntimeOptions {
  /** Leave the services running after this process exits (stop them with `stopRuntime`). */
  detach?: boolean;
  /**
   * Restart a JVM that dies after the start (crash, SIGKILL) with the restart backoff, data kept, as the
   * kubelet restarts a pod; `unexpectedExit` then never resolves. Not for a detached runtime. Ignored when
   * `acquireRuntime` reuses a runtime it did not start.
   */
  onJvmEvent?: (e: JvmEvent) => void;
}

const defaultLog = (line: string) => process.stderr.write(`[runtime] ${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function resolve(opts: RuntimeOptions): {
  cfg: RuntimeConfig;
  paths: RuntimePaths;
  log: (l: string) => void;
} {
  const cfg = opts.config ?? loadRuntimeConfig(opts.env);
  return { cfg, paths: runtimePaths(cfg.cacheDir), log: opts.log ?? defaultLog };
}

function describe(jvms: readonly LiveJvm[]): string {
  return jvms.map((j) => `${j.service} pid ${j.pid}`).join(', ');
}

/**
 * Before a start: JVMs of a crashed run (owner gone, not detached) are killed; a runtime that is still
 * owned or detached is left alone and reported, since two runtimes cannot share one cache dir.
 */
async function clearLeftovers(
  cfg: RuntimeConfig,
  paths: RuntimePaths,
  log: (l: string) => void,
): Promise<void> {
  const state = readState(paths);
  const jvms = liveJvms(paths);
  if (jvms.length > 0) {
    if (state?.detached || ownerAlive(state)) {
      const by = state?.detached ? 'detached' : `owned by pid ${state?.ownerPid}`;
      throw new RuntimeError(
        'ALREADY_RUNNING',
        `a runtime is already running from ${paths.home} (${by}; ${describe(jvms)})`,
        'reuse it (MARKET_RUNTIME=auto does) or stop it with `npm run runtime -- down`',
      );
    }
    for (const jvm of jvms) {
      log(`stopping orphaned ${jvm.service} JVM (pid ${jvm.pid}) left by a run that crashed`);
      await terminate(jvm.pid, cfg.stopTimeoutMs);
    }
  }
  clearState(paths);
}

async function ensureRuntimeJars(
  cfg: RuntimeConfig,
  paths: RuntimePaths,
  log: (l: string) => void,
  env: Env,
): Promise<{ java: JavaInfo; fetchMs: number }> {
  const artifacts = serviceArtifacts(cfg);
  const needMaven = services.some((s) => inspectCache(artifacts[s], paths).kind !== 'ready');
  const tools = preflightTools({ env }, needMaven);
  let fetchMs = 0;
  if (tools.mvn) {
    // One after the other: Maven 3.8's local repository is not safe for concurrent writers.
    for (const s of services) {
      fetchMs += await ensureJars(artifacts[s], paths, { mvn: tools.mvn, javaHome: tools.java.home, log });
    }
  }
  return { java: tools.java, fetchMs };
}

/** Fetches the jars into the cache if they are not there yet (e.g. to warm a CI cache); returns the ms spent. */
export async function fetchRuntime(opts: RuntimeOptions = {}): Promise<number> {
  const { cfg, paths, log } = resolve(opts);
  mkdirSync(paths.home, { recursive: true });
  return (await ensureRuntimeJars(cfg, paths, log, opts.env ?? process.env)).fetchMs;
}

/** Fetches jars if needed, checks tools and ports, then starts Kafka and Cassandra side by side. */
export async function startRuntime(opts: StartOptions = {}): Promise<Runtime> {
  const { cfg, paths, log } = resolve(opts);
  const detach = opts.detach ?? false;
  mkdirSync(paths.home, { recursive: true });
  await clearLeftovers(cfg, paths, log);

  const { java, fetchMs } = await ensureRuntimeJars(cfg, paths, log, opts.env ?? process.env);
  await preflightPorts(cfg);

  const endpoints: RuntimeEndpoints = {
    kafka: { brokers: kafkaBrokers(cfg) },
    cassandra: { contactPoints: cassandraContactPoints(cfg), localDataCenter: LOCAL_DATA_CENTER },
  };
  writeState(paths, {
    ...endpoints,
    ownerPid: detach ? null : process.pid,
    detached: detach,
    startedAt: new Date().toISOString(),
  });

  const started = new Map<ServiceName, SupervisedJvm>();
  const exitCodes = new Map<ServiceName, number | null>();
  let stopping = false;
  let up = false;
  const restartOnExit = !detach && opts.onJvmEvent !== undefined;
  const abort = new AbortController();
  const restarting = new Map<ServiceName, Promise<void>>();
  const restarts = new Map<ServiceName, number>();
  const backoffs = new Map<ServiceName, Backoff>();
  const launchedAt = new Map<ServiceName, number>();
  let reportExit: (e: { service: ServiceName; code: number | null }) => void = () => {};
  const unexpectedExit = new Promise<{ service: ServiceName; code: number | null }>((r) => {
    reportExit = r;
  });

  const launch = async (service: ServiceName, args: string[]): Promise<void> => {
    exitCodes.delete(service);
    launchedAt.set(service, Date.now());
    const jvm = await spawnJvm({
      java: java.bin,
      args,
      cwd: paths.home,
      logFile: paths.log(service),
      pidFile: paths.pidFile(service),
      detached: detach,
      graceMs: cfg.stopTimeoutMs,
      ...JVM_TUNING[service](cfg),
    });
    started.set(service, jvm);
    void jvm.exited.then((code) => {
      exitCodes.set(service, code);
      if (stopping || started.get(service) !== jvm || restarting.has(service)) return;
      if (up && restartOnExit) restart(service, code);
      else reportExit({ service, code });
    });
    // A restart that was launching when the stop began: stopServices did not see this JVM.
    if (stopping) await terminate(jvm.pid, cfg.stopTimeoutMs);
  };

  /** Backoff, relaunch on the same data dir, wait until ready; a failed attempt backs off again. */
  const restart = (service: ServiceName, exitCode: number | null): void => {
    const backoff = backoffs.get(service) ?? new Backoff(RESTART_BACKOFF);
    backoffs.set(service, backoff);
    if (Date.now() - (launchedAt.get(service) ?? 0) >= RESTART_STABLE_MS) backoff.reset();
    const run = async () => {
      let code = exitCode;
      while (!stopping) {
        const wait = backoff.next();
        appendFileSync(
          paths.log(service),
          `[runtime] ${service} exited (code ${code}); restarting in ${wait} ms (data kept)\n`,
        );
        opts.onJvmEvent?.({ kind: 'exited', service, code, restartInMs: wait });
        try {
          await sleep(wait, undefined, { signal: abort.signal });
        } catch {
          return; // stopping
        }
        try {
          const readyMs = await (service === 'kafka' ? startKafka() : startCassandra());
          if (stopping) return;
          const n = (restarts.get(service) ?? 0) + 1;
          restarts.set(service, n);
          const pid = started.get(service)?.pid ?? 0;
          appendFileSync(paths.log(service), `[runtime] ${service} restarted (restart ${n}, pid ${pid})\n`);
          opts.onJvmEvent?.({ kind: 'restarted', service, pid, restarts: n, readyMs });
          return;
        } catch (err) {
          if (stopping) return;
          log(`${service} restart failed: ${err instanceof Error ? err.message : String(err)}`);
          const jvm = started.get(service);
          if (jvm) await terminate(jvm.pid, cfg.stopTimeoutMs);
          code = exitCodes.get(service) ?? null;
        }
      }
    };
    restarting.set(
      service,
      run().finally(() => restarting.delete(service)),
    );
  };

  const stopAll = async (): Promise<void> => {
    // The supervisors are unref'd so they never keep a process alive on their own; while stopping,
    // something must, or Node would exit mid-stop (e.g. in vitest's teardown) and leave stale state behind.
    const hold = setInterval(() => {}, 1000);
    try {
      await stopServices();
    } finally {
      clearInterval(hold);
    }
  };
  const stopServices = async (): Promise<void> => {
    let waitingFor = otherUsers(paths);
    if (waitingFor.length > 0)
      log(`waiting for pid ${waitingFor.join(', ')} to finish using the runtime ...`);
    while (waitingFor.length > 0 && started.size > 0) {
      await sleep(500);
      waitingFor = otherUsers(paths);
    }
    stopping = true;
    abort.abort();
    await Promise.all(
      [...started.entries()].map(async ([service, jvm]) => {
        const how = await terminate(jvm.pid, cfg.stopTimeoutMs);
        if (how === 'killed') log(`${service} did not stop within ${seconds(cfg.stopTimeoutMs)}; killed`);
        await jvm.exited;
        clearState(paths, service);
      }),
    );
    // A restart in flight ends once its JVM is gone (or terminates the one it was launching).
    await Promise.allSettled([...restarting.values()]);
    clearState(paths);
  };

  const startKafka = async (): Promise<number> => {
    const t0 = Date.now();
    await launch('kafka', await prepareKafka(cfg, paths, java.bin));
    await waitReady(() => probeKafka(endpoints.kafka.brokers), {
      service: 'Kafka',
      logFile: paths.log('kafka'),
      timeoutMs: cfg.startTimeoutMs,
      exitCode: () => (exitCodes.has('kafka') ? exitCodes.get('kafka') : undefined),
    });
    const ms = Date.now() - t0;
    log(`kafka ${cfg.kafkaVersion} ready on ${endpoints.kafka.brokers.join(',')} in ${seconds(ms)}`);
    return ms;
  };
  const startCassandra = async (): Promise<number> => {
    const t0 = Date.now();
    await launch('cassandra', prepareCassandra(cfg, paths));
    await waitReady(
      async () => {
        await probeCassandra(endpoints.cassandra.contactPoints, LOCAL_DATA_CENTER);
      },
      {
        service: 'Cassandra',
        logFile: paths.log('cassandra'),
        timeoutMs: cfg.startTimeoutMs,
        exitCode: () => (exitCodes.has('cassandra') ? exitCodes.get('cassandra') : undefined),
        intervalMs: 500,
      },
    );
    const ms = Date.now() - t0;
    log(
      `cassandra ${cfg.cassandraVersion} ready on ${endpoints.cassandra.contactPoints.join(',')} in ${seconds(ms)}`,
    );
    return ms;
  };

  log(`starting kafka and cassandra (logs: ${paths.logsDir})`);
  const results = await Promise.allSettled([startKafka(), startCassandra()]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  const [kafkaMs, cassandraMs] = results.map((r) => (r as PromiseFulfilledResult<number>).value) as [
    number,
    number,
  ];
  up = true;
  let stopped: Promise<void> | undefined;
  return {
    ...endpoints,
    owned: true,
    timings: { fetchMs, kafkaMs, cassandraMs },
    ...(detach || restartOnExit ? {} : { unexpectedExit }),
    stop: () => {
      stopped ??= stopAll();
      return stopped;
    },
  };
}

/** A runtime already serving from this cache dir (detached or owned by another process), if it answers. */
export async function findRunningRuntime(opts: RuntimeOptions = {}): Promise<Runtime | undefined> {
  const { paths } = resolve(opts);
  const state = readState(paths);
  if (!state) return undefined;
  const running = new Set(liveJvms(paths).map((j) => j.service));
  if (!running.has('kafka') || !running.has('cassandra')) return undefined;
  try {
    await probeKafka(state.kafka.brokers);
    await probeCassandra(state.cassandra.contactPoints, state.cassandra.localDataCenter);
  } catch {
    return undefined;
  }
  registerUser(paths);
  let released = false;
  return {
    kafka: state.kafka,
    cassandra: state.cassandra,
    owned: false,
    stop: async () => {
      if (released) return;
      released = true;
      unregisterUser(paths);
    },
  };
}

/** True while another live process is starting a runtime from this cache dir. */
function startingElsewhere(cfg: RuntimeConfig, paths: RuntimePaths): boolean {
  const state = readState(paths);
  if (!state || !(state.detached || ownerAlive(state))) return false;
  return Date.now() - Date.parse(state.startedAt) < cfg.startTimeoutMs && liveJvms(paths).length > 0;
}

/**
 * What tests and the local pipeline call. MARKET_RUNTIME decides:
 *   auto (default)  reuse a runtime that answers, else start one that lives as long as this process
 *   embedded        always start one (fails if one is already running from the cache dir)
 *   external        never start: use MARKET_RUNTIME_KAFKA_BROKERS + ..._CASSANDRA_CONTACT_POINTS, or a
 *                   running runtime
 */
export async function acquireRuntime(opts: Omit<StartOptions, 'detach'> = {}): Promise<Runtime> {
  const { cfg, paths } = resolve(opts);
  if (cfg.mode === 'embedded') return startRuntime(opts);
  if (cfg.mode === 'external' && cfg.externalKafkaBrokers && cfg.externalCassandraContactPoints) {
    return {
      kafka: { brokers: cfg.externalKafkaBrokers },
      cassandra: {
        contactPoints: cfg.externalCassandraContactPoints,
        localDataCenter: cfg.externalCassandraDataCenter,
      },
      owned: false,
      stop: async () => {},
    };
  }
  let running = await findRunningRuntime(opts);
  if (!running && startingElsewhere(cfg, paths)) {
    // Two test runs started together: the second waits for the first's runtime instead of failing.
    (opts.log ?? defaultLog)('another process is starting the runtime; waiting for it ...');
    while (!running && startingElsewhere(cfg, paths)) {
      await sleep(500);
      running = await findRunningRuntime(opts);
    }
  }
  if (running) return running;
  if (cfg.mode === 'external') {
    throw new RuntimeError(
      'NOT_RUNNING',
      `MARKET_RUNTIME=external but no runtime answers from ${paths.home}`,
      'start one with `npm run runtime -- up --detach`, or set MARKET_RUNTIME_KAFKA_BROKERS and MARKET_RUNTIME_CASSANDRA_CONTACT_POINTS',
    );
  }
  return startRuntime(opts);
}

/** Stops whatever runs from the cache dir (detached or not). Returns what was stopped. */
export async function stopRuntime(opts: RuntimeOptions = {}): Promise<LiveJvm[]> {
  const { cfg, paths, log } = resolve(opts);
  const jvms = liveJvms(paths);
  await Promise.all(
    jvms.map(async (jvm) => {
      const t0 = Date.now();
      const how = await terminate(jvm.pid, cfg.stopTimeoutMs);
      log(
        `${jvm.service} (pid ${jvm.pid}) ${how === 'killed' ? 'killed after the grace period' : 'stopped'} in ${seconds(Date.now() - t0)}`,
      );
    }),
  );
  clearState(paths);
  return jvms;
}

export interface RuntimeStatus {
  readonly home: string;
  readonly jvms: LiveJvm[];
  readonly state: ReturnType<typeof readState>;
  readonly caches: Record<ServiceName, string>;
}

export function runtimeStatus(opts: RuntimeOptions = {}): RuntimeStatus {
  const { cfg, paths } = resolve(opts);
  const artifacts = serviceArtifacts(cfg);
  const caches = {} as Record<ServiceName, string>;
  for (const s of ['kafka', 'cassandra'] as const) {
    try {
      const c = inspectCache(artifacts[s], paths);
      caches[s] =
        c.kind === 'ready' ? `${c.marker.version} (${Object.keys(c.marker.files).length} jars)` : c.kind;
    } catch (err) {
      caches[s] = err instanceof RuntimeError ? err.problem : String(err);
    }
  }
  return { home: paths.home, jvms: liveJvms(paths), state: readState(paths), caches };
}

function refuseWhileRunning(paths: RuntimePaths, what: string): void {
  const jvms = liveJvms(paths);
  if (jvms.length > 0) {
    throw new RuntimeError(
      'RUNNING',
      `cannot ${what} while the runtime runs (${describe(jvms)})`,
      'stop it first: `npm run runtime -- down` (or Ctrl-C the `up` that owns it)',
    );
  }
}

/** Wipes data, logs and rendered config (the next start formats Kafka and bootstraps Cassandra again). */
export function resetData(opts: RuntimeOptions = {}): void {
  const { paths } = resolve(opts);
  refuseWhileRunning(paths, 'wipe the data');
  for (const dir of [paths.dataDir, paths.logsDir, `${paths.home}/conf`])
    rmSync(dir, { recursive: true, force: true });
  clearState(paths);
}

/** Wipes the fetched jars (the next start fetches them again). */
export function resetCache(opts: RuntimeOptions = {}): void {
  const { paths } = resolve(opts);
  refuseWhileRunning(paths, 'wipe the jar cache');
  rmSync(paths.jarsDir, { recursive: true, force: true });
}
