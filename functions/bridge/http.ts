import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Bridge } from './bridge.ts';

/** /healthz (process alive), /readyz (socket open, producer ready, not spooling), /metrics (Prometheus). */
export async function startHttp(
  bridge: Bridge,
  registry: Registry,
  host: string,
  port: number,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const reasons = bridge.notReadyReasons();
    reply.code(reasons.length === 0 ? 200 : 503);
    return { ready: reasons.length === 0, reasons };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  const url = await app.listen({ host, port });
  return { app, url };
}
