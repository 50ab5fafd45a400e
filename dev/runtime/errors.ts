/**
 * Every failure a developer can fix on their own machine (missing JDK, taken port, broken cache) is a
 * `RuntimeError`: its message is ONE line naming the cause and the fix, so callers print `error.message`
 * and never a stack trace.
 */
export type RuntimeErrorCode =
  | 'JAVA_MISSING'
  | 'JAVA_VERSION'
  | 'MAVEN_MISSING'
  | 'PORT_IN_USE'
  | 'CACHE_CORRUPT'
  | 'FETCH_FAILED'
  | 'START_FAILED'
  | 'START_TIMEOUT'
  | 'ALREADY_RUNNING'
  | 'NOT_RUNNING'
  | 'RUNNING';

export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';

  constructor(
    readonly code: RuntimeErrorCode,
    /** What went wrong, without a trailing period. */
    readonly problem: string,
    /** What to run or change, one line. */
    readonly fix: string,
  ) {
    super(`${problem}. Fix: ${fix}`);
  }
}

export function isRuntimeError(err: unknown): err is RuntimeError {
  return err instanceof RuntimeError;
}
