import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { Errors, errorReply, isPipelineError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { registerMetrics } from '../observability/metrics.ts';
import { probesPlugin } from '../observability/probes.ts';
import { classify } from './classify.ts';
import type { FunctionDef } from './types.ts';

export interface HostDeps {
  readonly log: Logger;
  readonly registry: Registry;
  /** Readiness beyond "listening", e.g. the Cassandra session is up. */
  readonly ready?: () => boolean | Promise<boolean>;
  readonly bodyLimitBytes?: number;
}

export interface FunctionHost {
  readonly app: FastifyInstance;
  /** Stops taking events (503, retried by the sender), waits for in-flight ones, closes the server. */
  close(): Promise<void>;
}

/**
 * Hosts one function the way Knative calls it: CloudEvents over HTTP POST, status codes as the retry
 * contract (2xx done; 5xx/408/429 retried; 400/415/422 dead-lettered), plus /healthz, /readyz and /metrics.
 */
export function createFunctionHost<E>(def: FunctionDef<E>, deps: HostDeps): FunctionHost {
  const { log, registry } = deps;
  const m = registerMetrics(registry, [
    'functionEvents',
    'functionErrors',
    'functionTrades',
    'functionDuration',
    'pipelineLatency',
    'functionInflight',
    'functionTradeRejects',
    'functionTradeFixes',
  ]);
  const labels = { function: def.name };
  let closing = false;

  const app = Fastify({ logger: false, bodyLimit: deps.bodyLimitBytes ?? 8 * 1024 * 1024 });
  // Every body arrives as raw bytes: Avro must stay untouched, and JSON is parsed by the contract code so that
  // a malformed body becomes a counted 4xx rather than a framework error.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.register(probesPlugin, {
    registry,
    readiness: async () => ({
      reasons: closing
        ? ['shutting down']
        : deps.ready && !(await deps.ready())
          ? ['dependencies not connected']
          : [],
    }),
  });

  app.post('/*', async (req, reply) => {
    if (closing) {
      m.functionEvents.inc({ ...labels, outcome: 'retry' });
      const r = errorReply(Errors.NOT_READY, 'shutting down');
      return reply.code(r.status).send(r.body);
    }
    const started = performance.now();
    m.functionInflight.inc(labels);
    try {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let event: E;
      try {
        event = def.decode(req.headers, body);
      } catch (err) {
        // Whatever goes wrong while reading the event is the event's fault: never a 5xx, never retried.
        const d = isPipelineError(err) ? err.def : Errors.EVENT_MALFORMED;
        m.functionEvents.inc({ ...labels, outcome: 'poison' });
        m.functionErrors.inc({ ...labels, code: d.code });
        log.warn({ code: d.code, ceId: req.headers['ce-id'], err: (err as Error).message }, 'rejected event');
        const r = errorReply(d, (err as Error).message);
        return reply.code(r.status).send(r.body);
      }
      try {
        const result = await def.handle(event, { log });
        m.functionEvents.inc({ ...labels, outcome: 'ok' });
        if (result?.trades) m.functionTrades.inc(labels, result.trades);
        for (const [reason, n] of Object.entries(result?.rejects ?? {}))
          if (n) m.functionTradeRejects.inc({ ...labels, reason }, n);
        for (const [fix, n] of Object.entries(result?.fixes ?? {}))
          if (n) m.functionTradeFixes.inc({ ...labels, fix }, n);
        if (result?.receivedAtMs !== undefined && Number.isFinite(result.receivedAtMs)) {
          m.pipelineLatency.observe(labels, Math.max(0, Date.now() - result.receivedAtMs) / 1000);
        }
        return reply.code(204).send();
      } catch (err) {
        const d = classify(err);
        m.functionEvents.inc({ ...labels, outcome: d.retryable ? 'retry' : 'poison' });
        m.functionErrors.inc({ ...labels, code: d.code });
        log[d.retryable ? 'warn' : 'error'](
          { code: d.code, ceId: req.headers['ce-id'], err },
          'event failed',
        );
        const r = errorReply(d, (err as Error).message);
        return reply.code(r.status).send(r.body);
      }
    } finally {
      m.functionInflight.dec(labels);
      m.functionDuration.observe(labels, (performance.now() - started) / 1000);
    }
  });

  return {
    app,
    async close() {
      closing = true;
      await app.close();
    },
  };
}
