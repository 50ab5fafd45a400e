import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createKafkaClient } from '../../shared/kafka/index.ts';
import type { RuntimeConfig } from './config.ts';
import { RuntimeError } from './errors.ts';
import type { RuntimePaths } from './paths.ts';
import { identityFlags, JIT_COMPILER_THREADS, type JvmTuning } from './processes.ts';
import { writeFromTemplate } from './templates.ts';

/** Kafka's background CPU, run at nice 19 by the watchdog: its JIT compilers (see JIT_COMPILER_THREADS). */
export const KAFKA_IDLE_THREADS = JIT_COMPILER_THREADS;

/** Kafka's JVM under the watchdog: its JIT compilers at nice 19 (it does not poll like Cassandra's pools). */
export const kafkaJvmTuning = (_cfg: RuntimeConfig): JvmTuning => ({ idleThreads: KAFKA_IDLE_THREADS });

export function kafkaBrokers(cfg: RuntimeConfig): string[] {
  return [`127.0.0.1:${cfg.kafkaPort}`];
}

/**
 * Kafka cluster ids are 16 random bytes in URL-safe base64 without padding (what `random-uuid` prints). Like
 * Kafka's own Uuid.randomUuid, never one starting with '-': the command line would read it as an option.
 */
export function newClusterId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function classpath(paths: RuntimePaths): string {
  return `${paths.libs('kafka')}/*`;
}

/** Renders the config and formats the log dir on first use; returns the broker's JVM arguments. */
export async function prepareKafka(cfg: RuntimeConfig, paths: RuntimePaths, java: string): Promise<string[]> {
  const conf = paths.conf('kafka');
  const data = paths.data('kafka');
  mkdirSync(data, { recursive: true });
  const properties = writeFromTemplate('server.properties', conf, {
    port: cfg.kafkaPort,
    controllerPort: cfg.kafkaControllerPort,
    dataDir: data,
  });
  const log4j = writeFromTemplate('log4j2.properties', conf, {});
  const common = ['-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4j}`, '-cp', classpath(paths)];
  if (!existsSync(join(data, 'meta.properties'))) {
    await formatStorage(java, [...common, 'kafka.tools.StorageTool'], properties, paths.log('kafka'));
  }
  return [
    `-Xms${cfg.kafkaHeapMb}m`,
    `-Xmx${cfg.kafkaHeapMb}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    ...identityFlags(paths.home, 'kafka'),
    `-Dkafka.logs.dir=${paths.logsDir}`,
    ...common,
    'kafka.Kafka',
    properties,
  ];
}

function formatStorage(java: string, tool: string[], properties: string, logFile: string): Promise<void> {
  mkdirSync(dirname(logFile), { recursive: true });
  const log = openSync(logFile, 'a');
  // --ignore-formatted: a second format of the same dir (e.g. a race with another start) is a no-op.
  const args = [...tool, 'format', '-t', newClusterId(), '-c', properties, '--ignore-formatted'];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(java, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolvePromise();
      else
        reject(
          new RuntimeError(
            'START_FAILED',
            `formatting the Kafka log dir failed (StorageTool exit code ${code})`,
            `read ${logFile}, then \`npm run runtime -- reset\``,
          ),
        );
    });
  });
}

/** Ready = the broker answers a metadata request and lists itself. */
export async function probeKafka(brokers: readonly string[]): Promise<void> {
  const client = createKafkaClient({
    brokers,
    clientId: 'runtime-probe',
    logLevel: 'nothing',
    retries: 0,
    connectionTimeoutMs: 1000,
    requestTimeoutMs: 2000,
  });
  try {
    const admin = await client.admin();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('no broker registered yet');
  } finally {
    await client.close();
  }
}
