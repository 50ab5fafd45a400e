import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { probesPlugin } from '../../shared/observability/probes.ts';
import type { Bridge } from './bridge.ts';

/** /healthz (process alive), /readyz (socket open, producer ready, not spooling), /metrics (Prometheus). */
export async function startHttp(
  bridge: Bridge,
  registry: Registry,
  host: string,
  port: number,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  await app.register(probesPlugin, { registry, readiness: () => ({ reasons: bridge.notReadyReasons() }) });
  const url = await app.listen({ host, port });
  return { app, url };
}
