/**
 * Dispatching an event to its sink, as eventing-kafka-broker's WebClientCloudEventSender does under the
 * source's `delivery` spec (the Knative field name; "dispatch" is this module's word for the act): which
 * answers are retried, how long to wait in between, and one HTTP attempt with a timeout.
 */
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackoffPolicy } from './manifests.ts';

export type StatusClass = 'ok' | 'retry' | 'poison';

/**
 * 2xx is done. 5xx, 404 (a sink not routed yet), 408, 409 and 429 are worth another try; every other
 * answer means the event itself is unacceptable and goes straight to the dead-letter sink.
 */
export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return 'ok';
  if (status >= 500 || status === 404 || status === 408 || status === 409 || status === 429) return 'retry';
  return 'poison';
}

/** Wait before retry n (n = 1..retry): linear `delay*n`, exponential `delay*2^n`. */
export function backoffSchedule(d: {
  readonly retry: number;
  readonly backoffPolicy: BackoffPolicy;
  readonly backoffDelayMs: number;
}): number[] {
  const out: number[] = [];
  for (let n = 1; n <= d.retry; n++) {
    out.push(d.backoffPolicy === 'linear' ? d.backoffDelayMs * n : d.backoffDelayMs * 2 ** n);
  }
  return out;
}

/** Knative keeps at most this much of a failed response body in `knativeerrordata`. */
export const ERROR_DATA_MAX_BYTES = 1024;

export type Attempt =
  | {
      readonly kind: 'response';
      readonly status: number;
      /** First ERROR_DATA_MAX_BYTES of the body. */
      readonly body: Buffer;
      readonly headers: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'error'; readonly reason: 'timeout' | 'network' | 'aborted'; readonly message: string };

/**
 * Keep-alive connections to the sinks. node:http rather than fetch: at thousands of deliveries per second on
 * two cores fetch's per-request cost (streams, AbortSignal.any) showed up as queueing in front of the sinks.
 */
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 256 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

/** One POST. Never throws: every way it can end is an `Attempt`. */
export function postOnce(
  url: string,
  headers: Readonly<Record<string, string>>,
  body: Buffer | null,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Attempt> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve({ kind: 'error', reason: 'aborted', message: 'dispatcher stopping' });
      return;
    }
    let settled = false;
    const finish = (a: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(a);
    };
    const target = new URL(url);
    const lib = target.protocol === 'https:' ? https : http;
    const payload = body && body.length > 0 ? body : null;
    let req: http.ClientRequest;
    try {
      req = lib.request(target, {
        method: 'POST',
        agent: target.protocol === 'https:' ? agents.https : agents.http,
        headers: { ...headers, 'content-length': String(payload?.length ?? 0) },
      });
    } catch (err) {
      // e.g. a header value with characters HTTP cannot carry
      resolve({ kind: 'error', reason: 'network', message: (err as Error).message });
      return;
    }
    const timer = setTimeout(() => {
      finish({ kind: 'error', reason: 'timeout', message: `no answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    const onAbort = () => {
      finish({ kind: 'error', reason: 'aborted', message: 'dispatcher stopping' });
      req.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) =>
      finish({ kind: 'error', reason: 'network', message: err.code ?? err.message }),
    );
    req.on('response', (res) => {
      // A sink that streams a huge error page must not hold the delivery up: keep the first bytes only.
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < ERROR_DATA_MAX_BYTES) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers))
          if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
        finish({
          kind: 'response',
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).subarray(0, ERROR_DATA_MAX_BYTES),
          headers: out,
        });
      });
      res.on('error', (err: NodeJS.ErrnoException) =>
        finish({ kind: 'error', reason: 'network', message: err.code ?? err.message }),
      );
    });
    req.end(payload ?? undefined);
  });
}

export interface Outcome {
  readonly result: 'delivered' | 'failed' | 'aborted';
  /** HTTP attempts made (1 + retries). */
  readonly attempts: number;
  readonly last: Attempt;
}

export interface RetryOptions {
  readonly retry: number;
  readonly backoffPolicy: BackoffPolicy;
  readonly backoffDelayMs: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Called after every attempt, e.g. for metrics. */
  readonly onAttempt?: (a: Attempt, durationMs: number, attempt: number) => void;
}

/** Attempts until a 2xx, a non-retryable answer, the retries run out, or `signal` aborts. */
export async function dispatchWithRetry(
  url: string,
  headers: Readonly<Record<string, string>>,
  body: Buffer | null,
  opts: RetryOptions,
): Promise<Outcome> {
  const waits = backoffSchedule(opts);
  for (let attempt = 1; ; attempt++) {
    const started = performance.now();
    const a = await postOnce(url, headers, body, opts.timeoutMs, opts.signal);
    opts.onAttempt?.(a, performance.now() - started, attempt);
    if (a.kind === 'error' && a.reason === 'aborted')
      return { result: 'aborted', attempts: attempt, last: a };
    const cls = a.kind === 'response' ? classifyStatus(a.status) : 'retry';
    if (cls === 'ok') return { result: 'delivered', attempts: attempt, last: a };
    const wait = waits[attempt - 1];
    if (cls === 'poison' || wait === undefined) return { result: 'failed', attempts: attempt, last: a };
    try {
      await sleep(wait, undefined, opts.signal ? { signal: opts.signal } : {});
    } catch {
      return { result: 'aborted', attempts: attempt, last: a };
    }
  }
}
