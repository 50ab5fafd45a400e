import { defineErrors, type ErrorDef } from '../../shared/errors.ts';

/**
 * Bridge failure catalogue, in the shape of every catalogue (shared/errors.ts) plus the level it is logged at;
 * `retryable`: the bridge recovers by itself (reconnect, resend, drain). The README's "Errors" table is
 * rendered from this object (a test keeps it in step).
 */
export interface BridgeErrorDef extends ErrorDef {
  readonly level: 'info' | 'warn' | 'error' | 'fatal';
}

const def = (
  code: string,
  level: BridgeErrorDef['level'],
  retryable: boolean,
  message: string,
  fix: string,
): BridgeErrorDef => ({ code, level, retryable, message, fix });

export const BridgeErrors = defineErrors({
  CONFIG_INVALID: def(
    'BRIDGE_CONFIG_INVALID',
    'fatal',
    false,
    'a setting is missing or malformed; the process exits with status 2',
    'fix the listed variables (see the config table in functions/bridge/README.md)',
  ),
  FEED_AUTH_REJECTED: def(
    'BRIDGE_FEED_AUTH_REJECTED',
    'error',
    false,
    'the feed answered the websocket upgrade with 401/403 (token refused)',
    'check FINNHUB_TOKEN / FINNHUB_TOKEN_FILE; the bridge retries with the maximum backoff',
  ),
  FEED_RATE_LIMITED: def(
    'BRIDGE_FEED_RATE_LIMITED',
    'warn',
    true,
    'the feed answered the upgrade with 429 (too many connections or requests)',
    'another process may use the same API key (one connection per key); the bridge waits at least FINNHUB_RATE_LIMIT_BACKOFF_MS (or Retry-After)',
  ),
  FEED_CONNECT_FAILED: def(
    'BRIDGE_FEED_CONNECT_FAILED',
    'warn',
    true,
    'the websocket could not be opened (DNS, TCP, TLS, handshake timeout or unexpected HTTP status)',
    'transient network trouble heals by itself; check FINNHUB_URL and egress if it persists',
  ),
  FEED_CLOSED: def(
    'BRIDGE_FEED_CLOSED',
    'warn',
    true,
    'the feed closed the websocket (Finnhub does so every few minutes to hours)',
    'nothing: the bridge reconnects with jittered backoff and resubscribes',
  ),
  FEED_SILENT: def(
    'BRIDGE_FEED_SILENT',
    'warn',
    true,
    'no frame (not even a ping) arrived within FINNHUB_WATCHDOG_MS; the socket is presumed dead',
    'nothing: the bridge reconnects; frequent occurrences point at the network or a feed outage',
  ),
  TOO_MANY_SYMBOLS: def(
    'BRIDGE_TOO_MANY_SYMBOLS',
    'error',
    false,
    'the feed refused subscriptions beyond its per-connection symbol limit; the refused symbols are logged and not retried',
    'subscribe fewer symbols (FINNHUB_SYMBOLS) or raise the plan; lower FINNHUB_MAX_SYMBOLS to match the plan',
  ),
  INVALID_SYMBOL: def(
    'BRIDGE_INVALID_SYMBOL',
    'error',
    false,
    'the feed answered a subscription with "Invalid symbol"',
    'fix the symbol in FINNHUB_SYMBOLS (e.g. BINANCE:BTCUSDT, AAPL)',
  ),
  FEED_ERROR: def(
    'BRIDGE_FEED_ERROR',
    'warn',
    false,
    'the feed sent an error frame the bridge does not know',
    'read the message; report it if it repeats',
  ),
  FRAME_REJECTED: def(
    'BRIDGE_FRAME_REJECTED',
    'warn',
    false,
    'a frame or some trades in it failed validation; they are dropped and counted by reason, the rest is published',
    'nothing for the bridge; watch mp_bridge_*_rejects_total for feed changes',
  ),
  KAFKA_UNAVAILABLE: def(
    'BRIDGE_KAFKA_UNAVAILABLE',
    'warn',
    true,
    'Kafka did not acknowledge a send within BRIDGE_KAFKA_STALL_MS or failed it; new records go to the disk spool and readiness is false',
    'check the brokers; the spool drains in order once Kafka answers again',
  ),
  QUEUE_FULL: def(
    'BRIDGE_QUEUE_FULL',
    'warn',
    true,
    'the in-memory queue reached BRIDGE_QUEUE_MAX_RECORDS (Kafka slower than the feed); new records go to the disk spool',
    'nothing if it is a burst; if it persists, Kafka is too slow for the feed rate (see the bench numbers)',
  ),
  KAFKA_RECOVERED: def(
    'BRIDGE_KAFKA_RECOVERED',
    'info',
    true,
    'Kafka acknowledges again; the spool is drained in order',
    'nothing',
  ),
  SPOOL_FULL: def(
    'BRIDGE_SPOOL_FULL',
    'error',
    false,
    'the disk spool reached BRIDGE_SPOOL_MAX_BYTES while Kafka was unavailable; records are DROPPED (counted)',
    'restore Kafka, or give the spool more disk (BRIDGE_SPOOL_MAX_BYTES, volume size)',
  ),
  SPOOL_IO: def(
    'BRIDGE_SPOOL_IO',
    'error',
    false,
    'writing or reading the disk spool failed (disk full, permissions, corruption)',
    'check the volume at BRIDGE_SPOOL_DIR; records that could not be stored are counted as dropped',
  ),
  SPOOL_RECOVERED: def(
    'BRIDGE_SPOOL_RECOVERED',
    'info',
    true,
    'records left in the spool by a previous run were found and are sent first (torn or corrupt bytes are reported)',
    'nothing; a non-zero corrupt count after a crash of the host means the fsync policy lost a tail',
  ),
  SHUTDOWN_INCOMPLETE: def(
    'BRIDGE_SHUTDOWN_INCOMPLETE',
    'warn',
    true,
    'on shutdown Kafka did not acknowledge everything within BRIDGE_SHUTDOWN_TIMEOUT_MS; the rest was saved to the disk spool',
    'keep the spool volume: the next start sends it first',
  ),
  INTERNAL: def(
    'BRIDGE_INTERNAL',
    'error',
    false,
    'an unexpected error in the bridge (a bug); the bridge keeps running when it safely can',
    'report it with the log line',
  ),
});

/** Markdown table for the README. */
export function errorTable(): string {
  const rows = Object.values(BridgeErrors).map(
    (d) => `| \`${d.code}\` | ${d.level} | ${d.message} | ${d.fix} |`,
  );
  return ['| code | level | what went wrong | what to do |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
