import { Writable } from 'node:stream';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import cassandra from 'cassandra-driver';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTradeBatchEvent, fromHttp, toHttpBinary } from '../contract/event.ts';
import type { TradeBatchEvent } from '../contract/types.ts';
import { pipelineError } from '../errors.ts';
import { createLogger } from '../observability/logger.ts';
import { createRegistry } from '../observability/metrics.ts';
import { registerWithFunctionsFramework } from './functions-framework.ts';
import { createFunctionHost } from './server.ts';
import type { FunctionDef } from './types.ts';

const log = createLogger('host-test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const ev = buildTradeBatchEvent({
  symbol: 'AAPL',
  trades: [{ s: 'AAPL', p: 10, t: 1_700_000_000_000, v: 1, c: null }],
  receivedAtMs: Date.now() - 5,
});
const { headers, body } = toHttpBinary(ev);

/** What the driver throws for a null item in a list: the same on every attempt. */
function driverRefusal(): unknown {
  const { dataTypes } = cassandra.types;
  // The driver's encoder is public at runtime but missing from its type declarations.
  const { Encoder } = cassandra as unknown as {
    Encoder: new (version: number, options: object) => { encode(value: unknown, type: object): Buffer };
  };
  try {
    new Encoder(4, {}).encode(['1', null], { code: dataTypes.list, info: { code: dataTypes.text } });
  } catch (err) {
    return err;
  }
  throw new Error('the driver accepted a null item');
}

function makeHost(behaviour: (e: TradeBatchEvent) => Promise<void>, ready = () => true) {
  const seen: TradeBatchEvent[] = [];
  const def: FunctionDef<TradeBatchEvent> = {
    name: 'probe',
    decode: fromHttp,
    async handle(e) {
      seen.push(e);
      await behaviour(e);
      return { trades: e.trades.length, receivedAtMs: e.receivedms };
    },
  };
  const registry = createRegistry();
  return { host: createFunctionHost(def, { log, registry, ready }), registry, seen };
}

describe('function host status contract', () => {
  it.each([
    ['success', async () => {}, 204],
    ['retryable pipeline error', async () => Promise.reject(pipelineError('STORE_TIMEOUT', 'slow')), 503],
    ['non-retryable pipeline error', async () => Promise.reject(pipelineError('TRADE_INVALID', 'bad')), 422],
    ['database unreachable', async () => Promise.reject(new cassandra.errors.NoHostAvailableError({})), 503],
    ['value the driver refuses for good (poison)', async () => Promise.reject(driverRefusal()), 422],
    ['minute sum past 64 bits', async () => Promise.reject(pipelineError('COUNTER_OVERFLOW', 'x')), 422],
    ['unexpected bug', async () => Promise.reject(new Error('boom')), 500],
  ])('%s -> %i', async (_name, behaviour, status) => {
    const { host } = makeHost(behaviour);
    const res = await host.app.inject({ method: 'POST', url: '/', headers, payload: body });
    expect(res.statusCode).toBe(status);
    if (status >= 400) expect(res.json().code).toMatch(/^MP_/);
    await host.close();
  });

  it.each([
    ['garbage Avro', { ...headers }, Buffer.from('xx'), 422],
    ['text/plain body', { ...headers, 'content-type': 'text/plain' }, Buffer.from('hello'), 415],
    ['empty body', { ...headers }, Buffer.alloc(0), 422],
    ['no CloudEvent headers', { 'content-type': 'application/avro' }, body, 400],
    ['broken structured JSON', { 'content-type': 'application/cloudevents+json' }, Buffer.from('{"x'), 400],
  ])('malformed event (%s) is a 4xx and never reaches the handler', async (_name, h, payload, status) => {
    const { host, seen, registry } = makeHost(async () => {});
    const res = await host.app.inject({ method: 'POST', url: '/', headers: h, payload });
    expect(res.statusCode).toBe(status);
    expect(seen).toHaveLength(0);
    expect(await registry.metrics()).toMatch(
      /mp_function_events_total\{function="probe",outcome="poison"\} 1/,
    );
    await host.close();
  });

  it('counts trades and latency, serves health, readiness and metrics', async () => {
    let ready = false;
    const { host } = makeHost(
      async () => {},
      () => ready,
    );
    expect((await host.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await host.app.inject({ url: '/readyz' })).statusCode).toBe(503);
    ready = true;
    expect((await host.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    await host.app.inject({ method: 'POST', url: '/', headers, payload: body });
    const text = (await host.app.inject({ url: '/metrics' })).body;
    expect(text).toMatch(/mp_function_trades_total\{function="probe"\} 1/);
    expect(text).toMatch(/mp_pipeline_latency_seconds_count\{function="probe"\} 1/);
    await host.close();
  });
});

describe('functions-framework registration', () => {
  const seen: TradeBatchEvent[] = [];
  registerWithFunctionsFramework<TradeBatchEvent>(
    {
      name: 'probe-ff',
      decode: fromHttp,
      async handle(e) {
        seen.push(e);
        return undefined;
      },
    },
    log,
  );
  const server = getTestServer('probe-ff');
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('runs the same handler on an Avro binary-mode CloudEvent', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers,
      body: new Uint8Array(body),
    });
    expect(res.status).toBeLessThan(300);
    expect(seen[0]?.trades).toEqual(ev.trades);
    expect(seen[0]?.id).toBe(ev.id);
  });

  it('accepts the JSON form as well', async () => {
    const { port } = server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'trade', data: ev.trades }),
    });
    expect(res.status).toBeLessThan(300);
    expect(seen[1]?.trades).toEqual(ev.trades);
  });
});
