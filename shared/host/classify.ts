import cassandra from 'cassandra-driver';
import { type ErrorDef, Errors, isPipelineError } from '../errors.ts';

/**
 * Maps any failure of a handler onto the error catalogue. Database trouble is transient (the delivery is
 * retried); anything unrecognised is a 500, which Knative also retries.
 */
export function classify(err: unknown): ErrorDef {
  if (isPipelineError(err)) return err.def;
  const { errors } = cassandra;
  if (err instanceof errors.NoHostAvailableError) return Errors.STORE_UNAVAILABLE;
  if (err instanceof errors.OperationTimedOutError) return Errors.STORE_TIMEOUT;
  if (err instanceof errors.ResponseError) {
    const c = cassandra.types.responseErrorCodes;
    if (
      [c.unavailableException, c.overloaded, c.isBootstrapping, c.writeTimeout, c.readTimeout].includes(
        err.code,
      )
    ) {
      return Errors.STORE_UNAVAILABLE;
    }
  }
  // The driver refuses to encode a value (a null in a collection, a number out of range): the same event
  // would be refused on every attempt, so it is poison, not a retry.
  if (err instanceof TypeError && /cassandra-driver[\\/]lib[\\/](encoder|types)/.test(err.stack ?? '')) {
    return Errors.STORE_REFUSED;
  }
  if (err instanceof errors.DriverError || (err as NodeJS.ErrnoException)?.code === 'ECONNREFUSED') {
    return Errors.STORE_UNAVAILABLE;
  }
  return Errors.INTERNAL;
}
