import * as ff from '@google-cloud/functions-framework';
import { MarketStore } from '../cassandra/market-store.ts';
import { openCassandraSession } from '../cassandra/session.ts';
import { type Env, loadedSettings } from '../config/env.ts';
import { CONTENT_TYPE_AVRO } from '../contract/event.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { createRegistry } from '../observability/metrics.ts';
import type { DefinedFunction } from './define.ts';
import { loadFunctionConfig, loadOrExit } from './process.ts';
import type { FunctionDef, HeaderMap } from './types.ts';

/**
 * The same handler under @google-cloud/functions-framework. That framework hands over a plain object built
 * from the ce-* headers and drops Content-Type, so bytes are taken as Avro and objects as JSON; its errors are
 * always HTTP 500 (retried), so prefer the fastify host where the 4xx/5xx contract matters.
 */
export function registerWithFunctionsFramework<E>(def: FunctionDef<E>, log: Logger): void {
  ff.cloudEvent(def.name, async (ce: Record<string, unknown>) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(ce)) {
      if (k !== 'data' && k !== 'data_base64' && v !== undefined && v !== null)
        headers[`ce-${k}`] = String(v);
    }
    const data = ce.data;
    let body: Buffer;
    if (Buffer.isBuffer(data)) {
      body = data;
      headers['content-type'] = String(ce.datacontenttype ?? CONTENT_TYPE_AVRO);
    } else {
      body = Buffer.from(JSON.stringify(data ?? null));
      headers['content-type'] = 'application/json';
    }
    const event = def.decode(headers as HeaderMap, body);
    await def.handle(event, { log });
  });
}

/**
 * Registers a defined function for `functions-framework --target=<name>`: the same settings as the process
 * entry (Cassandra secrets from files included), the Cassandra connect retried, and events held until it is
 * up rather than failed.
 */
export function registerDefinedFunction(def: DefinedFunction, env: Env = process.env): void {
  const cfg = loadOrExit(def.name, () => loadFunctionConfig(def, env));
  const log = createLogger(def.name);
  const session = openCassandraSession(cfg.cassandra, def.name, log);
  const { client } = session;
  const fn = cfg.build({
    store: new MarketStore(client, cfg.market),
    market: cfg.market,
    registry: createRegistry({ service: def.name }),
  });
  registerWithFunctionsFramework(
    {
      ...fn,
      name: def.name,
      handle: async (event, ctx) => {
        await session.up;
        return fn.handle(event, ctx);
      },
    },
    log,
  );
  log.info({ settings: loadedSettings() }, `${def.name} registered with the functions framework`);
}
