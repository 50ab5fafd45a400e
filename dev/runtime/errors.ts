import { attachDef, defineErrors, type ErrorDef } from '../../shared/errors.ts';

const def = (code: string, retryable: boolean, message: string, fix: string): ErrorDef => ({
  code,
  retryable,
  message,
  fix,
});

/** The local runtime's catalogue, in the shape of every catalogue (shared/errors.ts). */
export const RuntimeErrors = defineErrors({
  JAVA_MISSING: def(
    'JAVA_MISSING',
    false,
    'no Java runtime found',
    'install a JDK (see dev/runtime/README.md)',
  ),
  JAVA_VERSION: def(
    'JAVA_VERSION',
    false,
    'the Java runtime is too old',
    'install the JDK version named in versions.yaml',
  ),
  MAVEN_MISSING: def('MAVEN_MISSING', false, 'Maven (mvn) cannot be run', 'apt-get install maven'),
  PORT_IN_USE: def(
    'PORT_IN_USE',
    true,
    'a port the runtime needs is taken',
    'stop what holds it or choose other ports',
  ),
  CACHE_CORRUPT: def('CACHE_CORRUPT', false, 'the runtime cache is corrupt', '`npm run runtime -- reset`'),
  FETCH_FAILED: def(
    'FETCH_FAILED',
    true,
    'fetching the Kafka or Cassandra jars failed',
    'check the network and retry',
  ),
  START_FAILED: def(
    'START_FAILED',
    false,
    'a runtime service exited while starting',
    'read its log under the runtime directory',
  ),
  START_TIMEOUT: def(
    'START_TIMEOUT',
    true,
    'a runtime service did not become ready in time',
    'retry; read its log if it persists',
  ),
  ALREADY_RUNNING: def(
    'ALREADY_RUNNING',
    false,
    'the runtime is already running',
    '`npm run runtime -- stop` first',
  ),
  NOT_RUNNING: def('NOT_RUNNING', false, 'the runtime is not running', '`npm run runtime -- start`'),
  RUNNING: def('RUNNING', false, 'the runtime is running', '`npm run runtime -- stop` first'),
});

export type RuntimeErrorCode = keyof typeof RuntimeErrors;

/**
 * Every failure a developer can fix on their own machine (missing JDK, taken port, broken cache) is a
 * `RuntimeError`: its message is ONE line naming the cause and the fix, so callers print `error.message`
 * and never a stack trace. `def` is its catalogue entry; `problem` and `fix` say it for this occurrence.
 */
export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
  declare readonly def: ErrorDef;
  readonly retryable: boolean;

  constructor(
    readonly code: RuntimeErrorCode,
    /** What went wrong, without a trailing period. */
    readonly problem: string,
    /** What to run or change, one line. */
    readonly fix: string,
  ) {
    super(`${problem}. Fix: ${fix}`);
    attachDef(this, RuntimeErrors[code]);
    this.retryable = RuntimeErrors[code].retryable;
  }
}

export function isRuntimeError(err: unknown): err is RuntimeError {
  return err instanceof RuntimeError;
}
