import * as ff from '@google-cloud/functions-framework';
import type { Registry } from 'prom-client';
import { createCassandraClient } from '../cassandra/client.ts';
import { loadCassandraConfig } from '../cassandra/config.ts';
import { MarketStore } from '../cassandra/market-store.ts';
import { CONTENT_TYPE_AVRO } from '../contract/event.ts';
import { loadMarketConfig, type MarketConfig } from '../market/config.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { createRegistry } from '../observability/metrics.ts';
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

export interface FrameworkDeps {
  readonly store: MarketStore;
  readonly market: MarketConfig;
  readonly registry: Registry;
}

/**
 * Registration for `functions-framework --target=<name>`: reads the same configuration as the fastify main and
 * hands the handler its store.
 */
export function registerFromEnv<E>(name: string, build: (deps: FrameworkDeps) => FunctionDef<E>): void {
  const market = loadMarketConfig();
  const store = new MarketStore(
    createCassandraClient(loadCassandraConfig(), { applicationName: name }),
    market,
  );
  registerWithFunctionsFramework(
    build({ store, market, registry: createRegistry({ service: name }) }),
    createLogger(name),
  );
}
