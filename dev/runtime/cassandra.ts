import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import cassandra from 'cassandra-driver';
import type { RuntimeConfig } from './config.ts';
import type { RuntimePaths } from './paths.ts';
import { identityFlags, JIT_COMPILER_THREADS, type JvmTuning } from './processes.ts';
import { writeFromTemplate } from './templates.ts';

/** SimpleSnitch puts every node in this data center. */
export const LOCAL_DATA_CENTER = 'datacenter1';
/**
 * Cassandra's background CPU, run at nice 19 by the watchdog: on a two-core machine a compaction otherwise holds
 * a whole core for seconds and every write waits behind it (5.0.8 runs its compaction executor at normal
 * priority), and so do bursts of JIT compilation (docs/decisions.md, "Background JVM work at idle priority").
 */
export const CASSANDRA_IDLE_THREADS = `CompactionExec*,${JIT_COMPILER_THREADS}`;

/** Cassandra's JVM under the watchdog: its background threads at nice 19, and the configured timer slack. */
export const cassandraJvmTuning = (cfg: RuntimeConfig): JvmTuning => ({
  idleThreads: CASSANDRA_IDLE_THREADS,
  timerSlackNs: cfg.cassandraTimerSlackUs * 1000,
});

export function cassandraContactPoints(cfg: RuntimeConfig): string[] {
  return [`127.0.0.1:${cfg.cassandraPort}`];
}

/**
 * What `bin/cassandra` and conf/jvm17-server.options would pass on JDK 17: Cassandra reaches into JDK
 * internals and refuses to start without these.
 */
const JPMS_FLAGS = [
  ...[
    'java.base/jdk.internal.misc',
    'java.management.rmi/com.sun.jmx.remote.internal.rmi',
    'java.management/com.sun.jmx.remote.security',
    'java.rmi/sun.rmi.registry',
    'java.rmi/sun.rmi.server',
    'java.sql/java.sql',
    'java.base/java.lang.ref',
    'jdk.unsupported/sun.misc',
    'jdk.compiler/com.sun.tools.javac.file',
    'jdk.attach/sun.tools.attach',
  ].flatMap((m) => ['--add-exports', `${m}=ALL-UNNAMED`]),
  ...[
    'java.base/java.lang.module',
    'java.base/jdk.internal.loader',
    'java.base/jdk.internal.ref',
    'java.base/jdk.internal.reflect',
    'java.base/jdk.internal.math',
    'java.base/jdk.internal.module',
    'java.base/jdk.internal.util.jar',
    'jdk.management/com.sun.management.internal',
    'java.base/sun.nio.ch',
    'java.base/java.io',
    'java.base/java.lang.reflect',
    'jdk.compiler/com.sun.tools.javac',
    'java.base/java.lang',
    'java.base/java.util',
    'java.base/java.nio',
  ].flatMap((m) => ['--add-opens', `${m}=ALL-UNNAMED`]),
];

/** Startup shortcuts that are safe only because this is one throw-away node. */
const FAST_START = [
  '-Dcassandra.skip_wait_for_gossip_to_settle=0',
  '-Dcassandra.ring_delay_ms=1000',
  '-Dcassandra.superuser_setup_delay_ms=0',
  '-Dcassandra.load_ring_state=false',
  // Not -Dcassandra.unsafesystem: it keeps schema changes out of the commit log, so a Cassandra that npm start
  // restarts after a crash or SIGKILL came back without the keyspace (its rows skipped as "unknown CF").
];

export function prepareCassandra(cfg: RuntimeConfig, paths: RuntimePaths): string[] {
  const conf = paths.conf('cassandra');
  const data = paths.data('cassandra');
  const triggers = join(conf, 'triggers');
  for (const dir of ['data', 'commitlog', 'saved_caches', 'hints', 'cdc_raw']) {
    mkdirSync(join(data, dir), { recursive: true });
  }
  mkdirSync(triggers, { recursive: true });
  const yaml = writeFromTemplate('cassandra.yaml', conf, {
    cqlPort: cfg.cassandraPort,
    storagePort: cfg.cassandraStoragePort,
    dataDir: data,
  });
  const logback = writeFromTemplate('logback.xml', conf, {});
  const libs = paths.libs('cassandra');
  return [
    `-Xms${cfg.cassandraHeapMb}m`,
    `-Xmx${cfg.cassandraHeapMb}m`,
    '-Xss256k',
    '-XX:+UseG1GC',
    // G1 sizes its young generation to this pause goal. At G1's default, 200 ms, Cassandra's young pauses ran
    // to 100-240 ms at 1,000 trades/s, each a stall of every event in flight (docs/decisions.md, "Young pauses").
    `-XX:MaxGCPauseMillis=${cfg.cassandraGcPauseMs}`,
    // Every pause with its length, as Cassandra's own scripts log them (kept small: five files of 10 MB).
    `-Xlog:gc:file=${join(paths.logsDir, 'cassandra-gc.log')}:time,uptime:filecount=5,filesize=10m`,
    '-XX:+ExitOnOutOfMemoryError',
    ...JPMS_FLAGS,
    // jamm measures object sizes for memtable accounting; the official scripts always load it.
    `-javaagent:${join(libs, 'jamm-0.4.0.jar')}`,
    '-Djdk.attach.allowAttachSelf=true',
    '-Dio.netty.tryReflectionSetAccessible=true',
    '-Dio.netty.allocator.useCacheForAllThreads=true',
    '-Dio.netty.allocator.maxOrder=11',
    ...identityFlags(paths.home, 'cassandra'),
    `-Dcassandra.config=file://${yaml}`,
    `-Dlogback.configurationFile=${logback}`,
    `-Dcassandra.logdir=${paths.logsDir}`,
    `-Dcassandra.storagedir=${data}`,
    `-Dcassandra.triggers_dir=${triggers}`,
    '-Dcassandra-foreground=yes',
    ...FAST_START,
    '-cp',
    `${libs}/*`,
    'org.apache.cassandra.service.CassandraDaemon',
  ];
}

/** Ready = a CQL session can read system.local (the port alone opens before queries are served). */
export async function probeCassandra(
  contactPoints: readonly string[],
  localDataCenter: string,
): Promise<string> {
  const client = new cassandra.Client({
    contactPoints: [...contactPoints],
    localDataCenter,
    socketOptions: { connectTimeout: 1000, readTimeout: 2000 },
  });
  try {
    await client.connect();
    const rs = await client.execute('SELECT release_version FROM system.local');
    return String(rs.first()?.get('release_version') ?? 'unknown');
  } finally {
    await client.shutdown();
  }
}
