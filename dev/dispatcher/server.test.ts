import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/observability/logger.ts';
import { createRegistry } from '../../shared/observability/metrics.ts';
import { type Dispatcher, DispatcherSetupError, resolveDestination, startDispatcher } from './dispatcher.ts';
import { parseManifests } from './manifests.ts';
import { createServer } from './server.ts';

const quiet = createLogger('dispatcher-test', {
  destination: new Writable({ write: (_c, _e, cb) => cb() }),
});

const MANIFESTS = parseManifests(`
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: tick, namespace: market }
spec:
  schedule: "* * * * *"
  contentType: application/json
  data: '{"reason":"tick"}'
  sink: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: minute-finalizer } }
---
apiVersion: sources.knative.dev/v1
kind: KafkaSource
metadata: { name: trades, namespace: market }
spec:
  bootstrapServers: [127.0.0.1:1]
  topics: [market]
  sink: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: trade-writer } }
`);

describe('resolveDestination', () => {
  const ref = (name: string, namespace = 'market') => ({ kind: 'Service', name, namespace });
  it.each([
    [{ uri: 'http://127.0.0.1:1/x' }, {}, 'http://127.0.0.1:1/x'],
    [{ ref: ref('fn') }, { fn: 'http://127.0.0.1:2' }, 'http://127.0.0.1:2'],
    [
      { ref: ref('fn') },
      { 'market/fn': 'http://127.0.0.1:3', fn: 'http://127.0.0.1:4' },
      'http://127.0.0.1:3',
    ],
    [{ ref: ref('fn'), uri: '/sub/path' }, { fn: 'http://127.0.0.1:5/' }, 'http://127.0.0.1:5/sub/path'],
  ])('%j with %j is %s', (dest, sinks, url) => {
    expect(resolveDestination(dest, sinks)).toEqual({ url });
  });

  it('names the missing mapping', () => {
    expect(resolveDestination({ ref: ref('fn') }, {})).toEqual({
      problem: expect.stringMatching(/fn=http.*DISPATCHER_SINKS/),
    });
  });
});

describe('dispatcher HTTP server with a PingSource', () => {
  let sink: Server;
  const received: { headers: IncomingMessage['headers']; body: string }[] = [];
  let dispatcher: Dispatcher;
  const registry = createRegistry();
  let app: ReturnType<typeof createServer>;

  beforeAll(async () => {
    sink = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(received.length === 1 ? 202 : 500).end();
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
    dispatcher = await startDispatcher({
      manifests: MANIFESTS,
      sources: ['tick'],
      sinks: { 'minute-finalizer': `http://127.0.0.1:${(sink.address() as AddressInfo).port}/` },
      logger: quiet,
      registry,
      commitIntervalMs: 1000,
      maxInFlight: 50,
      shutdownGraceMs: 100,
      duplicateRatio: 0,
      pingTimeoutMs: 2000,
      pingSchedule: false,
    });
    app = createServer(dispatcher, registry);
  });
  afterAll(async () => {
    await app.close();
    await dispatcher.stop();
    sink.closeAllConnections();
    await new Promise((r) => sink.close(r));
  });

  it('is healthy and, with no KafkaSource to join, ready', async () => {
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ kafkaSources: [], pingSources: ['tick'] });
  });

  it('POST /ping/<name> sends the PingSource event now and reports the sink answer', async () => {
    const ok = await app.inject({ method: 'POST', url: '/ping/tick' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ delivered: true, sinkStatus: 202 });
    expect(received[0]!.headers).toMatchObject({
      'ce-type': 'dev.knative.sources.ping',
      'ce-source': '/apis/v1/namespaces/market/pingsources/tick',
      'ce-specversion': '1.0',
      'content-type': 'application/json',
    });
    expect(received[0]!.body).toBe('{"reason":"tick"}');

    const failed = await app.inject({ method: 'POST', url: '/ping/tick' });
    expect(failed.statusCode).toBe(502);
    expect(failed.json()).toEqual({ delivered: false, sinkStatus: 500 });
    expect((await app.inject({ method: 'POST', url: '/ping/other' })).statusCode).toBe(404);
  });

  it('exposes the dispatcher metrics', async () => {
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(text).toContain('mp_dispatcher_pings_total{source="tick",trigger="manual",outcome="delivered"} 1');
    expect(text).toContain('mp_dispatcher_pings_total{source="tick",trigger="manual",outcome="failed"} 1');
    expect(text).toContain('# TYPE mp_dispatcher_dispatch_latency_seconds histogram');
  });
});

describe('startDispatcher refuses an incomplete setup, listing every problem', () => {
  it.each([
    [{ sources: ['nope'] }, /DISPATCHER_SOURCES names nope/],
    [{}, /KafkaSources need a Kafka client[\s\S]*trade-writer=http[\s\S]*minute-finalizer=http/],
  ])('%j', async (extra, problem) => {
    const start = startDispatcher({
      manifests: MANIFESTS,
      sinks: {},
      logger: quiet,
      registry: createRegistry(),
      commitIntervalMs: 1000,
      maxInFlight: 50,
      shutdownGraceMs: 100,
      duplicateRatio: 0,
      pingTimeoutMs: 2000,
      pingSchedule: false,
      ...extra,
    });
    await expect(start).rejects.toBeInstanceOf(DispatcherSetupError);
    await expect(start).rejects.toThrow(problem);
  });
});
