import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { defineErrors, errorReply } from '../../shared/errors.ts';
import { probesPlugin } from '../../shared/observability/probes.ts';
import type { Dispatcher } from './dispatcher.ts';

const DispatcherErrors = defineErrors({
  PING_SOURCE_UNKNOWN: {
    code: 'DISPATCHER_PING_SOURCE_UNKNOWN',
    status: 404,
    retryable: false,
    message: 'no PingSource of that name',
    fix: 'use one of the names in `have` (the PingSources of the manifests)',
  },
  PING_NOT_DELIVERED: {
    code: 'DISPATCHER_PING_NOT_DELIVERED',
    status: 502,
    retryable: true,
    message: 'the PingSource event did not reach its sink',
    fix: 'check that the sink is up; the scheduled tick retries by itself',
  },
});

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
      const r = errorReply(DispatcherErrors.PING_SOURCE_UNKNOWN, `no PingSource named ${req.params.name}`);
      return reply.code(r.status).send({ ...r.body, have: dispatcher.pingSources });
    }
    const a = await dispatcher.triggerPing(req.params.name);
    if (a.kind === 'response') {
      const ok = a.status >= 200 && a.status < 300;
      return reply.code(ok ? 200 : 502).send({ delivered: ok, sinkStatus: a.status });
    }
    const r = errorReply(DispatcherErrors.PING_NOT_DELIVERED, a.message);
    return reply.code(r.status).send({ delivered: false, reason: a.reason, ...r.body });
  });
  return app;
}
