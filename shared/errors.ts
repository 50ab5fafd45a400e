/**
 * The one shape of every error catalogue in the repository (this one, the bridge's, the local runtime's, the
 * dispatcher's): a stable code (logged as `code`, searchable, alertable), what went wrong, what to do, whether
 * trying again can help, and the HTTP status where a server answers with it. `errorReply` is the one place
 * that turns a catalogue entry into an HTTP error body.
 */
export interface ErrorDef {
  readonly code: string;
  /** What went wrong. */
  readonly message: string;
  /** What to do about it. */
  readonly fix: string;
  /** Whether the same request or operation can succeed later. */
  readonly retryable: boolean;
  /** The HTTP status a server answers with, where the error is answered over HTTP. */
  readonly status?: number;
}

/** A catalogue: frozen entries, each code once. */
export function defineErrors<T extends Record<string, ErrorDef>>(defs: T): Readonly<T> {
  const seen = new Set<string>();
  for (const d of Object.values(defs)) {
    if (seen.has(d.code)) throw new Error(`error code ${d.code} is defined twice`);
    seen.add(d.code);
    Object.freeze(d);
  }
  return Object.freeze(defs);
}

/** The body of every HTTP error answer. */
export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

/** The one builder of an HTTP error answer: status and body from a catalogue entry, with a specific message. */
export function errorReply(
  def: ErrorDef,
  message: string = def.message,
): { status: number; body: ErrorBody } {
  return {
    status: def.status ?? (def.retryable ? 503 : 400),
    body: { code: def.code, message, retryable: def.retryable },
  };
}

/** An error of the functions' catalogue, with the HTTP status that is their retry contract. */
interface HttpErrorDef extends ErrorDef {
  readonly status: number;
}

const def = (
  code: string,
  status: number,
  retryable: boolean,
  message: string,
  fix: string,
): HttpErrorDef => ({ code, status, retryable, message, fix });

/**
 * The functions' errors. The function host maps `retryable` onto the Knative delivery contract (5xx/408/429
 * are retried, 400/415/422 go straight to the dead-letter sink), so a malformed event can never burn retries
 * or block its partition.
 */
export const Errors = defineErrors({
  EVENT_MALFORMED: def(
    'MP_EVENT_MALFORMED',
    400,
    false,
    'the request is not a complete CloudEvent',
    'send a CloudEvent 1.0 with id, source, type, subject and trade data',
  ),
  EVENT_TYPE_UNKNOWN: def(
    'MP_EVENT_TYPE_UNKNOWN',
    400,
    false,
    'the event type is not one this function handles',
    'send events of the documented type (see shared/contract/README.md)',
  ),
  CONTENT_TYPE_UNSUPPORTED: def(
    'MP_CONTENT_TYPE_UNSUPPORTED',
    415,
    false,
    'the event data has a content type this function does not read',
    'use application/avro (seed schema) or application/json data',
  ),
  DATA_UNDECODABLE: def(
    'MP_DATA_UNDECODABLE',
    422,
    false,
    'the event data cannot be decoded',
    'encode data with the FinnhubProducer.message Avro schema, or send JSON {data:[...],type}',
  ),
  TRADE_INVALID: def(
    'MP_TRADE_INVALID',
    422,
    false,
    'a trade of the event is invalid',
    'every trade needs a symbol equal to the event subject, a finite positive price, volume >= 0 and an integer ms time',
  ),
  STORE_REFUSED: def(
    'MP_STORE_REFUSED',
    422,
    false,
    'the database refused a value of the event',
    'the database driver refused a value of the event; no retry can change that, so the event is dead-lettered (a contract bug: report it)',
  ),
  COUNTER_OVERFLOW: def(
    'MP_COUNTER_OVERFLOW',
    422,
    false,
    'a minute counter would overflow',
    "a minute's scaled sum would leave the signed 64-bit range of its counter; it is refused, never wrapped",
  ),
  STORE_UNAVAILABLE: def(
    'MP_STORE_UNAVAILABLE',
    503,
    true,
    'the database is unavailable',
    'Cassandra did not answer; the delivery is retried, check the database if it persists',
  ),
  STORE_TIMEOUT: def(
    'MP_STORE_TIMEOUT',
    503,
    true,
    'a database write timed out',
    'the write timed out; the delivery is retried',
  ),
  LEASE_LOST: def(
    'MP_LEASE_LOST',
    503,
    true,
    'the finalizer lease was lost',
    'another finalizer run holds or took over the lease; this run stopped and the next tick continues',
  ),
  NOT_READY: def(
    'MP_NOT_READY',
    503,
    true,
    'the function is not ready',
    'the function is starting or stopping; the delivery is retried',
  ),
  INTERNAL: def(
    'MP_INTERNAL',
    500,
    true,
    'an unexpected error',
    'an unexpected error; see the function log for the stack',
  ),
});

export type ErrorName = keyof typeof Errors;

/**
 * Attaches the catalogue entry to an error without making it enumerable: loggers walk an error's own
 * properties, and an entry (frozen, with a `message`) looks like a nested error to them.
 */
export function attachDef(err: Error, def: ErrorDef): void {
  Object.defineProperty(err, 'def', { value: def, enumerable: false });
}

export class PipelineError extends Error {
  declare readonly def: ErrorDef;
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  constructor(def: ErrorDef, detail: string, options?: { cause?: unknown }) {
    super(`${detail}: ${def.fix}`, options);
    attachDef(this, def);
    this.name = 'PipelineError';
    this.code = def.code;
    this.status = errorReply(def).status;
    this.retryable = def.retryable;
  }
}

export const pipelineError = (name: ErrorName, detail: string, cause?: unknown): PipelineError =>
  new PipelineError(Errors[name], detail, cause === undefined ? undefined : { cause });

export const isPipelineError = (err: unknown): err is PipelineError => err instanceof PipelineError;
