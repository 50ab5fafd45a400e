import type { Logger } from '../observability/logger.ts';

export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

export interface HandleResult {
  /** Trades the event carried (for the trades counter). */
  readonly trades?: number;
  /** When the bridge received the data (Unix ms), for the end-to-end latency histogram. */
  readonly receivedAtMs?: number;
  /** Trades the acceptance rule refused while the event was read, by reason (the rest was handled). */
  readonly rejects?: Readonly<Record<string, number | undefined>>;
  /** Optional fields the acceptance rule repaired, by fix. */
  readonly fixes?: Readonly<Record<string, number | undefined>>;
}

/**
 * A function is a decoder plus a plain async handler. Decoding failures are the sender's fault and must throw
 * a PipelineError with a 4xx definition; handler failures are classified (see classify.ts).
 */
export interface FunctionDef<E> {
  readonly name: string;
  decode(headers: HeaderMap, body: Buffer): E;
  handle(event: E, ctx: { log: Logger }): Promise<HandleResult | undefined>;
}
