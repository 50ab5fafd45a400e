import * as ff from '@google-cloud/functions-framework';
import { CONTENT_TYPE_AVRO } from '../contract/event.ts';
import type { Logger } from '../observability/logger.ts';
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
