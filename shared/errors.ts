/**
 * One catalogue of the pipeline's errors, in the fastify style: a stable code, an HTTP status and whether the
 * failure is worth retrying. The function host maps `retryable` onto the Knative delivery contract
 * (5xx/408/429 are retried, 400/415/422 go straight to the dead-letter sink), so a malformed event can never
 * burn retries or block its partition.
 */
export interface ErrorDef {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  /** What to do about it, appended to every message. */
  readonly fix: string;
}

const def = (code: string, status: number, retryable: boolean, fix: string): ErrorDef =>
  Object.freeze({ code, status, retryable, fix });

export const Errors = {
  EVENT_MALFORMED: def(
    'MP_EVENT_MALFORMED',
    400,
    false,
    'send a CloudEvent 1.0 with id, source, type, subject and trade data',
  ),
  EVENT_TYPE_UNKNOWN: def(
    'MP_EVENT_TYPE_UNKNOWN',
    400,
    false,
    'send events of the documented type (see shared/contract/README.md)',
  ),
  CONTENT_TYPE_UNSUPPORTED: def(
    'MP_CONTENT_TYPE_UNSUPPORTED',
    415,
    false,
    'use application/avro (seed schema) or application/json data',
  ),
  DATA_UNDECODABLE: def(
    'MP_DATA_UNDECODABLE',
    422,
    false,
    'encode data with the FinnhubProducer.message Avro schema, or send JSON {data:[...],type}',
  ),
  TRADE_INVALID: def(
    'MP_TRADE_INVALID',
    422,
    false,
    'every trade needs a symbol equal to the event subject, a finite positive price, volume >= 0 and an integer ms time',
  ),
  STORE_REFUSED: def(
    'MP_STORE_REFUSED',
    422,
    false,
    'the database driver refused a value of the event; no retry can change that, so the event is dead-lettered (a contract bug: report it)',
  ),
  COUNTER_OVERFLOW: def(
    'MP_COUNTER_OVERFLOW',
    422,
    false,
    "a minute's scaled sum would leave the signed 64-bit range of its counter; it is refused, never wrapped",
  ),
  STORE_UNAVAILABLE: def(
    'MP_STORE_UNAVAILABLE',
    503,
    true,
    'Cassandra did not answer; the delivery is retried, check the database if it persists',
  ),
  STORE_TIMEOUT: def('MP_STORE_TIMEOUT', 503, true, 'the write timed out; the delivery is retried'),
  LEASE_LOST: def(
    'MP_LEASE_LOST',
    503,
    true,
    'another finalizer run holds or took over the lease; this run stopped and the next tick continues',
  ),
  NOT_READY: def('MP_NOT_READY', 503, true, 'the function is starting or stopping; the delivery is retried'),
  INTERNAL: def('MP_INTERNAL', 500, true, 'an unexpected error; see the function log for the stack'),
} as const;

export type ErrorName = keyof typeof Errors;

export class PipelineError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  constructor(
    readonly def: ErrorDef,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${detail}: ${def.fix}`, options);
    this.name = 'PipelineError';
    this.code = def.code;
    this.status = def.status;
    this.retryable = def.retryable;
  }
}

export const pipelineError = (name: ErrorName, detail: string, cause?: unknown): PipelineError =>
  new PipelineError(Errors[name], detail, cause === undefined ? undefined : { cause });

export const isPipelineError = (err: unknown): err is PipelineError => err instanceof PipelineError;
