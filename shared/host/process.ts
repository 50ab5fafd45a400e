import type cassandra from 'cassandra-driver';
import type { Registry } from 'prom-client';
import { type CassandraConfig, loadCassandraConfig } from '../cassandra/config.ts';
import { MarketStore } from '../cassandra/market-store.ts';
import { openCassandraSession } from '../cassandra/session.ts';
import { ConfigError, type Env, loadConfig, loadedSettings, type Setting } from '../config/env.ts';
import * as p from '../config/parsers.ts';
import { loadMarketConfig, type MarketConfig } from '../market/config.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { createRegistry } from '../observability/metrics.ts';
import type { DefinedFunction } from './define.ts';
import { createFunctionHost } from './server.ts';
import { gracefulShutdown } from './shutdown.ts';
import type { FunctionDef } from './types.ts';

export const hostSpec = {
  port: {
    env: 'PORT',
    doc: 'HTTP port (Knative sets it)',
    parse: p.int({ min: 0, max: 65535 }),
    default: 8080,
  } satisfies Setting<number>,
  host: {
    env: 'HOST',
    doc: 'Address to listen on',
    parse: p.text,
    default: '0.0.0.0',
  } satisfies Setting<string>,
  shutdownTimeoutMs: {
    env: 'SHUTDOWN_TIMEOUT_MS',
    doc: 'How long SIGTERM waits for in-flight events before exiting',
    parse: p.int({ min: 0, max: 600_000 }),
    default: 20_000,
  } satisfies Setting<number>,
} as const;

/** Loads configuration or exits with code 2 and one line per problem: a bad setting never becomes a crash loop of stack traces. */
export function loadOrExit<T>(name: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    createLogger(name).fatal({ problems: err.problems }, err.message);
    process.exit(2);
  }
}

export interface StartDeps {
  readonly store: MarketStore;
  readonly client: cassandra.Client;
  readonly registry: Registry;
  readonly log: Logger;
}

export interface StartOptions<E> {
  readonly name: string;
  readonly host: { port: number; host: string; shutdownTimeoutMs: number };
  readonly cassandra: CassandraConfig;
  readonly market: MarketConfig;
  readonly build: (deps: StartDeps) => FunctionDef<E>;
}

/**
 * Runs one function process: Cassandra session (connect retried in the background; /readyz stays false until
 * it is up), the HTTP host, and SIGTERM/SIGINT handling that drains in-flight events.
 */
export async function startFunction<E>(
  opts: StartOptions<E>,
): Promise<{ port: number; stop: () => Promise<void> }> {
  const log = createLogger(opts.name);
  const registry = createRegistry({ service: opts.name });
  const session = openCassandraSession(opts.cassandra, opts.name, log);
  const { client } = session;
  const store = new MarketStore(client, opts.market);

  const host = createFunctionHost(opts.build({ store, client, registry, log }), {
    log,
    registry,
    ready: session.connected,
  });
  await host.app.listen({ port: opts.host.port, host: opts.host.host });
  const address = host.app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.host.port;
  log.info({ port, settings: loadedSettings() }, `${opts.name} listening`);

  const shutdown = gracefulShutdown({
    log,
    graceMs: opts.host.shutdownTimeoutMs,
    steps: [
      { name: 'http host (drains in-flight events)', run: () => host.close() },
      { name: 'cassandra', run: () => session.close() },
    ],
  });
  return { port, stop: async () => void (await shutdown.stop('stop')) };
}

/** The settings a function process reads: host, Cassandra, market, and the function's own. */
export function loadFunctionConfig(def: DefinedFunction, env: Env) {
  return {
    host: loadConfig(hostSpec, env),
    cassandra: loadCassandraConfig(env),
    market: loadMarketConfig(env),
    build: def.configure(env),
  };
}

/** Runs a defined function as its own process behind the fastify host (what Knative deploys). */
export async function runFunction(def: DefinedFunction, env: Env = process.env) {
  const cfg = loadOrExit(def.name, () => loadFunctionConfig(def, env));
  return startFunction({
    name: def.name,
    host: cfg.host,
    cassandra: cfg.cassandra,
    market: cfg.market,
    build: ({ store, registry }) => cfg.build({ store, market: cfg.market, registry }),
  });
}
