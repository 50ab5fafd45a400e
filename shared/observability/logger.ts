import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Secret values known to this process (tokens, passwords). Every serialized log line is scrubbed of them, so a
 * secret cannot leak even through an error message or a URL that a library logs.
 */
const secrets = new Set<string>();
const QUERY_TOKEN = /([?&](?:token|apikey|api_key|password)=)[^&\s"']+/gi;

export function registerSecret(value: string | undefined): void {
  // Very short values would redact ordinary words; no real token is that short.
  if (value && value.length >= 6) secrets.add(value);
}

export function scrub(text: string): string {
  let out = text.replace(QUERY_TOKEN, '$1[REDACTED]');
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
  return out;
}

export interface LoggerSettings {
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read what was logged. */
  destination?: pino.DestinationStream;
  base?: Record<string, unknown>;
}

const REDACT_PATHS = [
  'token',
  'password',
  'secret',
  '*.token',
  '*.password',
  '*.secret',
  'headers.authorization',
  'req.headers.authorization',
  'config.finnhubToken',
];

/** JSON logs (pino) for one component; `name` is the process or module, e.g. `bridge`. */
export function createLogger(name: string, settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    name,
    level: settings.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { pid: process.pid, ...settings.base },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    hooks: { streamWrite: scrub },
  };
  return pino(options, settings.destination ?? pino.destination({ fd: 1, sync: false }));
}
