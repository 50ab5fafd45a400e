import type { Registry } from 'prom-client';
import type { MarketStore } from '../cassandra/market-store.ts';
import { type ConfigOf, type Env, loadConfig, type Spec } from '../config/env.ts';
import type { MarketConfig } from '../market/config.ts';
import type { FunctionDef } from './types.ts';

/** What every function's handler is built from: the store, the shared market settings and the metrics. */
export interface BuildContext {
  readonly store: MarketStore;
  readonly market: MarketConfig;
  readonly registry: Registry;
}

/**
 * One event function, defined once: its name, its own settings and how to build its handler. The same
 * definition runs as a process behind the fastify host (`functions/main.ts`, what Knative deploys) and under
 * @google-cloud/functions-framework's CLI (`functions/functions-framework.ts`).
 */
export interface DefinedFunction {
  readonly name: string;
  /** Settings of its own, beyond the host's, Cassandra's and the market's (its README documents them). */
  readonly spec: Spec;
  /** Reads its own settings from `env` (throws ConfigError) and returns the handler builder bound to them. */
  configure(env: Env): (ctx: BuildContext) => FunctionDef<unknown>;
}

export function defineFunction<E, S extends Spec = Record<never, never>>(d: {
  readonly name: string;
  readonly spec?: S;
  readonly build: (ctx: BuildContext & { readonly own: ConfigOf<S> }) => FunctionDef<E>;
}): DefinedFunction {
  const spec = (d.spec ?? {}) as S;
  return {
    name: d.name,
    spec,
    configure: (env) => {
      const own = loadConfig(spec, env);
      return (ctx) => d.build({ ...ctx, own }) as FunctionDef<unknown>;
    },
  };
}
