import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Registry } from 'prom-client';

/** Why a process is not ready (empty: ready), plus anything worth showing beside it. */
export interface Readiness {
  readonly reasons: readonly string[];
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface ProbesOptions {
  readonly registry: Registry;
  /** Readiness beyond "listening"; absent: ready whenever the process answers. */
  readonly readiness?: () => Readiness | Promise<Readiness>;
}

async function probes(app: FastifyInstance, opts: ProbesOptions): Promise<void> {
  const { registry, readiness } = opts;
  // Liveness: the event loop answers. Never depends on a dependency, or a database outage restarts every pod.
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = readiness ? await readiness() : { reasons: [] };
    const ready = r.reasons.length === 0;
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', reasons: r.reasons, ...r.detail });
  });
  app.get('/metrics', async (_req, reply) =>
    reply.header('content-type', registry.contentType).send(await registry.metrics()),
  );
}

/**
 * The probes every HTTP process of the pipeline serves, the way Kubernetes and Prometheus read them:
 * `/healthz` (alive), `/readyz` (200 ready, 503 with the reasons otherwise) and `/metrics` (Prometheus text).
 */
export const probesPlugin = fp(probes, { name: 'market-probes', fastify: '5.x' });
