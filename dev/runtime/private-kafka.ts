import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Env } from '../../shared/config/index.ts';
import { kafkaJvmTuning, prepareKafka, probeKafka } from './kafka.ts';
import { preparePrivate } from './private.ts';
import { type SupervisedJvm, spawnJvm, terminate } from './processes.ts';
import { waitReady } from './wait.ts';

/**
 * A private single-node Kafka for fault tests that stop and restart the broker (e.g. the bridge's Kafka
 * outage test) without disturbing the shared runtime other tests use at the same time. It borrows the jars
 * of the shared cache (fetching them if needed) and keeps its config, data, log and pid file in `dir`.
 * The JVM dies with this Node process; `close()` stops it and removes `dir`.
 */
export interface PrivateKafka {
  readonly brokers: string[];
  readonly running: boolean;
  /** Graceful stop (SIGTERM, then SIGKILL after the grace period); data is kept for `start()`. */
  stop(): Promise<void>;
  /** Starts the broker again on the same ports and data, and waits until it answers. */
  start(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startPrivateKafka(opts: {
  dir: string;
  env?: Env;
  heapMb?: number;
  log?: (line: string) => void;
}): Promise<PrivateKafka> {
  const { base, log, tools, paths } = await preparePrivate('kafka', opts);
  const cfg = {
    ...base,
    kafkaPort: await freePort(),
    kafkaControllerPort: await freePort(),
    kafkaHeapMb: opts.heapMb ?? 256,
  };
  const brokers = [`127.0.0.1:${cfg.kafkaPort}`];
  const args = await prepareKafka(cfg, paths, tools.java.bin);
  let jvm: SupervisedJvm | undefined;
  let exitCode: number | null | undefined;

  const start = async (): Promise<void> => {
    if (jvm) return;
    exitCode = undefined;
    const started = await spawnJvm({
      java: tools.java.bin,
      args,
      cwd: paths.home,
      logFile: paths.log('kafka'),
      pidFile: paths.pidFile('kafka'),
      detached: false,
      graceMs: base.stopTimeoutMs,
      ...kafkaJvmTuning(cfg),
    });
    jvm = started;
    void started.exited.then((code) => {
      if (jvm === started) exitCode = code;
    });
    await waitReady(() => probeKafka(brokers), {
      service: 'private Kafka',
      logFile: paths.log('kafka'),
      timeoutMs: base.startTimeoutMs,
      exitCode: () => exitCode,
    });
  };
  const stop = async (): Promise<void> => {
    const j = jvm;
    if (!j) return;
    jvm = undefined;
    await terminate(j.pid, base.stopTimeoutMs);
    // The supervisor's handle is unref'd: poll (a timer keeps the event loop alive) rather than only await
    // its exit, or a script whose last work is this stop would end with the promise still pending.
    let exited = false;
    void j.exited.then(() => {
      exited = true;
    });
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline) await sleep(50);
  };

  await start();
  log(`ready on ${brokers[0]} (data ${join(paths.home, 'data')})`);
  return {
    brokers,
    get running() {
      return jvm !== undefined;
    },
    stop,
    start,
    async close() {
      await stop();
      rmSync(opts.dir, { recursive: true, force: true });
    },
  };
}
