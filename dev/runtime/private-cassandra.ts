import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import cassandra from 'cassandra-driver';
import type { Env } from '../../shared/config/index.ts';
import { freePort } from '../pipeline/ports.ts';
import { cassandraJvmTuning, LOCAL_DATA_CENTER, prepareCassandra } from './cassandra.ts';
import { preparePrivate } from './private.ts';
import { type SupervisedJvm, spawnJvm, terminate } from './processes.ts';
import { waitReady } from './wait.ts';

/**
 * A private single-node Cassandra for tests that must change what the shared runtime cannot (e.g. switch
 * authentication on by the cluster's own init script). Same jars and JVM flags as the runtime, own ports,
 * config, data and logs in `dir`. `configure` receives the rendered cassandra.yaml path and returns the path of
 * the yaml the node is to run (e.g. one an init script produced from it). The JVM dies with this process.
 */
export interface PrivateCassandra {
  readonly contactPoints: string[];
  readonly port: number;
  readonly localDataCenter: string;
  readonly logFile: string;
  close(): Promise<void>;
}

/** Ready = the native transport answers a login (accepted or refused: with auth on, either proves it serves). */
async function answersLogin(contactPoint: string): Promise<void> {
  const client = new cassandra.Client({
    contactPoints: [contactPoint],
    localDataCenter: LOCAL_DATA_CENTER,
    authProvider: new cassandra.auth.PlainTextAuthProvider('cassandra', 'cassandra'),
    socketOptions: { connectTimeout: 1000, readTimeout: 2000 },
  });
  try {
    await client.connect();
  } catch (err) {
    const inner = Object.values((err as { innerErrors?: Record<string, Error> }).innerErrors ?? {});
    if (!inner.some((e) => e?.name === 'AuthenticationError')) throw err;
  } finally {
    await client.shutdown();
  }
}

export async function startPrivateCassandra(opts: {
  dir: string;
  env?: Env;
  heapMb?: number;
  configure?: (renderedYaml: string) => string | Promise<string>;
  /** More JVM options, after the runtime's own (a later -XX option wins). */
  jvmArgs?: readonly string[];
  log?: (line: string) => void;
}): Promise<PrivateCassandra> {
  const { base, log, tools, paths } = await preparePrivate('cassandra', opts);
  const cfg = {
    ...base,
    cassandraPort: await freePort(),
    cassandraStoragePort: await freePort(),
    cassandraHeapMb: opts.heapMb ?? 512,
  };
  let args = prepareCassandra(cfg, paths);
  if (opts.configure) {
    const rendered = args
      .find((a) => a.startsWith('-Dcassandra.config=file://'))
      ?.slice('-Dcassandra.config=file://'.length);
    if (!rendered) throw new Error('prepareCassandra passed no -Dcassandra.config');
    const chosen = await opts.configure(rendered);
    args = args.map((a) => (a.startsWith('-Dcassandra.config=') ? `-Dcassandra.config=file://${chosen}` : a));
  }
  if (opts.jvmArgs?.length) args.splice(args.indexOf('-cp'), 0, ...opts.jvmArgs);
  const contactPoint = `127.0.0.1:${cfg.cassandraPort}`;
  let exitCode: number | null | undefined;
  const jvm: SupervisedJvm = await spawnJvm({
    java: tools.java.bin,
    args,
    cwd: paths.home,
    logFile: paths.log('cassandra'),
    pidFile: paths.pidFile('cassandra'),
    detached: false,
    graceMs: base.stopTimeoutMs,
    ...cassandraJvmTuning(base),
  });
  void jvm.exited.then((code) => {
    exitCode = code;
  });
  const close = async () => {
    await terminate(jvm.pid, base.stopTimeoutMs);
    const deadline = Date.now() + 10_000;
    while (exitCode === undefined && Date.now() < deadline) await sleep(50);
    rmSync(opts.dir, { recursive: true, force: true });
  };
  try {
    await waitReady(() => answersLogin(contactPoint), {
      service: 'private Cassandra',
      logFile: paths.log('cassandra'),
      timeoutMs: base.startTimeoutMs,
      exitCode: () => exitCode,
    });
  } catch (err) {
    await close();
    throw err;
  }
  log(`ready on ${contactPoint} (${opts.dir})`);
  return {
    contactPoints: [contactPoint],
    port: cfg.cassandraPort,
    localDataCenter: LOCAL_DATA_CENTER,
    logFile: paths.log('cassandra'),
    close,
  };
}
