import type { Env } from '../../shared/config/index.ts';
import { serviceArtifacts } from './artifacts.ts';
import { inspectCache } from './cache.ts';
import { loadRuntimeConfig, type RuntimeConfig } from './config.ts';
import { ensureJars } from './fetch.ts';
import { type RuntimePaths, runtimePaths, type ServiceName } from './paths.ts';
import { preflightTools } from './preflight.ts';

export interface PrivateOptions {
  /** Config, data, logs and pid file of the private node (removed by its `close()`). */
  readonly dir: string;
  readonly env?: Env;
  readonly log?: (line: string) => void;
}

/**
 * What a private node of `service` (private-kafka.ts, private-cassandra.ts) starts from: the runtime's config,
 * the jars of the shared cache (fetched if missing), a JDK, and paths that keep everything else in `dir`.
 */
export async function preparePrivate(service: ServiceName, opts: PrivateOptions) {
  const base: RuntimeConfig = loadRuntimeConfig(opts.env);
  const log = opts.log ?? ((l: string) => process.stderr.write(`[private-${service}] ${l}\n`));
  const shared = runtimePaths(base.cacheDir);
  const artifacts = serviceArtifacts(base)[service];
  const needMaven = inspectCache(artifacts, shared).kind !== 'ready';
  const tools = preflightTools({ env: opts.env ?? process.env }, needMaven);
  if (tools.mvn) await ensureJars(artifacts, shared, { mvn: tools.mvn, javaHome: tools.java.home, log });
  const paths: RuntimePaths = {
    ...runtimePaths(opts.dir),
    jars: shared.jars,
    libs: shared.libs,
    marker: shared.marker,
  };
  return { base, log, tools, paths };
}
