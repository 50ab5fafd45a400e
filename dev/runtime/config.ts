import { type ConfigOf, type Env, loadConfig, p } from '../../shared/config/index.ts';

const port = p.int({ min: 1024, max: 65535 });
const mb = p.int({ min: 128, max: 16384 });

/**
 * Settings of the local Kafka + Cassandra runtime. Ports default to values away from the well-known ones
 * (9092/9042/7000) so a developer's own Kafka or Cassandra keeps running beside ours.
 */
export const runtimeSpec = {
  mode: {
    env: 'MARKET_RUNTIME',
    doc: 'auto: reuse a runtime that answers from the cache dir, else start one for this process; embedded: always start one; external: never start one (use the brokers/contact points below, or a running runtime)',
    parse: p.oneOf('auto', 'embedded', 'external'),
    default: 'auto' as 'auto' | 'embedded' | 'external',
  },
  cacheDir: {
    env: 'MARKET_RUNTIME_DIR',
    doc: 'cache directory for jars, data, logs and pid files (relative paths are taken from the repo root)',
    parse: p.text,
    default: '.cache/runtime',
  },
  kafkaVersion: {
    env: 'MARKET_RUNTIME_KAFKA_VERSION',
    doc: 'org.apache.kafka:kafka_2.13 version (4.1.x: kafkajs 2.2.4 consumer groups work against it)',
    parse: p.identifier(/^4\.\d+\.\d+$/, 'a Kafka 4.x version such as 4.1.1'),
    default: '4.1.1',
  },
  cassandraVersion: {
    env: 'MARKET_RUNTIME_CASSANDRA_VERSION',
    doc: 'org.apache.cassandra:cassandra-all version (5.0.x: the only line that runs on JDK 17)',
    parse: p.identifier(/^5\.0\.\d+$/, 'a Cassandra 5.0.x version such as 5.0.8'),
    default: '5.0.8',
  },
  kafkaPort: {
    env: 'MARKET_RUNTIME_KAFKA_PORT',
    doc: 'Kafka client listener on 127.0.0.1',
    parse: port,
    default: 19092,
  },
  kafkaControllerPort: {
    env: 'MARKET_RUNTIME_KAFKA_CONTROLLER_PORT',
    doc: 'Kafka KRaft controller listener on 127.0.0.1',
    parse: port,
    default: 19093,
  },
  cassandraPort: {
    env: 'MARKET_RUNTIME_CASSANDRA_PORT',
    doc: 'Cassandra CQL (native transport) port on 127.0.0.1',
    parse: port,
    default: 19042,
  },
  cassandraStoragePort: {
    env: 'MARKET_RUNTIME_CASSANDRA_STORAGE_PORT',
    doc: 'Cassandra internode (storage) port on 127.0.0.1',
    parse: port,
    default: 17000,
  },
  kafkaHeapMb: { env: 'MARKET_RUNTIME_KAFKA_HEAP_MB', doc: 'Kafka JVM heap', parse: mb, default: 512 },
  cassandraHeapMb: {
    env: 'MARKET_RUNTIME_CASSANDRA_HEAP_MB',
    doc: 'Cassandra JVM heap',
    parse: mb,
    default: 1024,
  },
  cassandraTimerSlackUs: {
    env: 'MARKET_RUNTIME_CASSANDRA_TIMER_SLACK_US',
    doc: "timer slack of Cassandra's threads in µs (0: the kernel's default, 50): its idle request workers poll in sleeps this much longer (docs/decisions.md, Timer slack)",
    parse: p.int({ min: 0, max: 100_000 }),
    default: 1000,
  },
  cassandraGcPauseMs: {
    env: 'MARKET_RUNTIME_CASSANDRA_GC_PAUSE_MS',
    doc: "G1's pause-time goal for Cassandra (-XX:MaxGCPauseMillis; G1's own default is 200): it sizes the young generation, so every young pause is a stall this long of each request in flight (docs/decisions.md, Young pauses)",
    parse: p.int({ min: 1, max: 10_000 }),
    default: 20,
  },
  startTimeoutMs: {
    env: 'MARKET_RUNTIME_START_TIMEOUT_MS',
    doc: 'how long each service may take to become ready',
    parse: p.int({ min: 1000 }),
    default: 180_000,
  },
  stopTimeoutMs: {
    env: 'MARKET_RUNTIME_STOP_TIMEOUT_MS',
    doc: 'grace period between SIGTERM and SIGKILL when stopping a service',
    parse: p.int({ min: 1000 }),
    default: 30_000,
  },
  externalKafkaBrokers: {
    env: 'MARKET_RUNTIME_KAFKA_BROKERS',
    doc: 'with MARKET_RUNTIME=external: Kafka brokers to use instead of a local runtime',
    parse: p.list(p.hostPort),
    default: undefined as string[] | undefined,
  },
  externalCassandraContactPoints: {
    env: 'MARKET_RUNTIME_CASSANDRA_CONTACT_POINTS',
    doc: 'with MARKET_RUNTIME=external: Cassandra contact points to use instead of a local runtime',
    parse: p.list(p.hostPort),
    default: undefined as string[] | undefined,
  },
  externalCassandraDataCenter: {
    env: 'MARKET_RUNTIME_CASSANDRA_DC',
    doc: 'with MARKET_RUNTIME=external: local data center of those contact points',
    parse: p.text,
    default: 'datacenter1',
  },
};

export type RuntimeConfig = ConfigOf<typeof runtimeSpec>;

export function loadRuntimeConfig(env: Env = process.env): RuntimeConfig {
  return loadConfig(runtimeSpec, env);
}

/** Which env var moves which port: quoted by the "port in use" message. */
export const portSettings = [
  { key: 'kafkaPort', service: 'Kafka', env: runtimeSpec.kafkaPort.env },
  { key: 'kafkaControllerPort', service: 'Kafka controller', env: runtimeSpec.kafkaControllerPort.env },
  { key: 'cassandraPort', service: 'Cassandra CQL', env: runtimeSpec.cassandraPort.env },
  { key: 'cassandraStoragePort', service: 'Cassandra storage', env: runtimeSpec.cassandraStoragePort.env },
] as const;
