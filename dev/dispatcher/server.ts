import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { probesPlugin } from '../../shared/observability/probes.ts';
import type { Dispatcher } from './dispatcher.ts';

/** Health, readiness, Prometheus metrics and the on-demand PingSource trigger. */
export function createServer(dispatcher: Dispatcher, registry: Registry): FastifyInstance {
  const app = Fastify({ logger: false });
  app.register(probesPlugin, {
    registry,
    readiness: () => ({
      reasons: dispatcher.ready() ? [] : ["joining the KafkaSources' consumer groups"],
      detail: { kafkaSources: dispatcher.kafkaSources, pingSources: dispatcher.pingSources },
    }),
  });
  // Lets tests and people fire the minute tick without waiting for the minute.
  app.post<{ Params: { name: string } }>('/ping/:name', async (req, reply) => {
    if (!dispatcher.pingSources.includes(req.params.name)) {
      return reply
        .code(404)
        .send({ error: `no PingSource named ${req.params.name}`, have: dispatcher.pingSources });
    }
    const a = await dispatcher.triggerPing(req.params.name);
    if (a.kind === 'response') {
      const ok = a.status >= 200 && a.status < 300;
      return reply.code(ok ? 200 : 502).send({ delivered: ok, sinkStatus: a.status });
    }
    return reply.code(502).send({ delivered: false, error: a.reason, message: a.message });
  });
  return app;
}
