import Fastify from 'fastify';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { probesPlugin, type Readiness } from './probes.ts';

describe('probes plugin', () => {
  const apps: ReturnType<typeof Fastify>[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
  });

  async function build(readiness?: () => Readiness | Promise<Readiness>) {
    const registry = new Registry();
    new Counter({ name: 'probe_test_total', help: 'a test counter', registers: [registry] }).inc(3);
    const app = Fastify({ logger: false });
    apps.push(app);
    await app.register(probesPlugin, { registry, ...(readiness ? { readiness } : {}) });
    // Registered at the top level (fastify-plugin), so routes added after it sit beside the probes.
    app.get('/other', async () => 'x');
    await app.ready();
    return app;
  }

  it('answers /healthz and, with no readiness check, is ready', async () => {
    const app = await build();
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', reasons: [] });
    expect((await app.inject({ url: '/other' })).body).toBe('x');
  });

  it('is not ready (503) while the check names a reason, and shows its detail', async () => {
    let reasons: string[] = ['Cassandra not connected'];
    const app = await build(async () => ({ reasons, detail: { sources: ['a'] } }));
    const notReady = await app.inject({ url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual({
      status: 'not ready',
      reasons: ['Cassandra not connected'],
      sources: ['a'],
    });
    reasons = [];
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', sources: ['a'] });
    // Liveness never follows readiness.
    reasons = ['x'];
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('serves the registry in the Prometheus text format', async () => {
    const app = await build();
    const res = await app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('probe_test_total 3');
  });
});
