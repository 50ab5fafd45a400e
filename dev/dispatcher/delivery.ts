/**
 * The KafkaSource delivery contract (eventing-kafka-broker's WebClientCloudEventSender and its retry
 * policy): which answers are retried, how long to wait in between, and one HTTP attempt with a timeout.
 */
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

async function readCapped(res: Response, max: number): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = res.body.getReader();
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
      size += value.byteLength;
    }
  } finally {
    // A sink that streams a huge error page must not hold the delivery up.
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max);
}

/** One POST. Never throws: every way it can end is an `Attempt`. */
export async function postOnce(
  url: string,
  headers: Readonly<Record<string, string>>,
  body: Buffer | null,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Attempt> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      ...(body && body.length > 0 ? { body: new Uint8Array(body) } : {}),
      signal: combined,
      redirect: 'manual',
    });
    const out: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      out[k] = v;
    });
    return {
      kind: 'response',
      status: res.status,
      body: await readCapped(res, ERROR_DATA_MAX_BYTES),
      headers: out,
    };
  } catch (err) {
    if (signal?.aborted) return { kind: 'error', reason: 'aborted', message: 'dispatcher stopping' };
    if (timeout.aborted)
      return { kind: 'error', reason: 'timeout', message: `no answer within ${timeoutMs} ms` };
    const e = err as Error & { cause?: { code?: string; message?: string } };
    return { kind: 'error', reason: 'network', message: e.cause?.code ?? e.cause?.message ?? e.message };
  }
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
export async function deliverWithRetry(
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
