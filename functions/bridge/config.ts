import { type Env, loadConfig, type Setting } from '../../shared/config/env.ts';
import * as p from '../../shared/config/parsers.ts';
import { marketSpec } from '../../shared/market/config.ts';

export const FINNHUB_DEFAULT_URL = 'wss://ws.finnhub.io';
const MiB = 1024 * 1024;

const setting = <T>(s: Setting<T>): Setting<T> => s;
const ms = (min = 0, max = 24 * 3600 * 1000) => p.int({ min, max });

/** Every bridge setting (Kafka connection settings are `shared/kafka/config.ts`). */
export const bridgeSpec = {
  url: setting({
    env: 'FINNHUB_URL',
    doc: 'Feed websocket URL without the token (locally `npm start` points it at its replay feed process)',
    parse: p.url(['ws', 'wss']),
    default: FINNHUB_DEFAULT_URL,
  }),
  token: setting<string | undefined>({
    env: 'FINNHUB_TOKEN',
    doc: 'Finnhub API key; never logged (unset: no live market, see FINNHUB_URL)',
    parse: p.text,
    default: undefined,
    secret: true,
  }),
  symbols: setting({
    env: 'FINNHUB_SYMBOLS',
    doc: 'Symbols to subscribe, comma-separated, in priority order',
    parse: p.list(p.identifier(/^[\x21-\x2b\x2d-\x7e]{1,64}$/, 'a symbol such as BINANCE:BTCUSDT or AAPL')),
    default: ['BINANCE:BTCUSDT'],
  }),
  maxSymbols: setting({
    env: 'FINNHUB_MAX_SYMBOLS',
    doc: 'Symbols per connection the plan allows (free tier 50); symbols beyond it are refused and logged',
    parse: p.int({ min: 1, max: 10_000 }),
    default: 50,
  }),
  watchdogMs: setting({
    env: 'FINNHUB_WATCHDOG_MS',
    doc: 'Reconnect when no frame (trade or ping) arrived for this long; Finnhub pings about once a minute',
    parse: ms(100),
    default: 150_000,
  }),
  connectTimeoutMs: setting({
    env: 'FINNHUB_CONNECT_TIMEOUT_MS',
    doc: 'Websocket handshake timeout',
    parse: ms(100),
    default: 10_000,
  }),
  backoffInitialMs: setting({
    env: 'FINNHUB_BACKOFF_INITIAL_MS',
    doc: 'First reconnect delay ceiling (equal jitter: the delay is drawn from [d/2, d], d doubles per failure)',
    parse: ms(1),
    default: 1_000,
  }),
  backoffMaxMs: setting({
    env: 'FINNHUB_BACKOFF_MAX_MS',
    doc: 'Largest reconnect delay ceiling',
    parse: ms(1),
    default: 60_000,
  }),
  rateLimitBackoffMs: setting({
    env: 'FINNHUB_RATE_LIMIT_BACKOFF_MS',
    doc: 'Least wait after HTTP 429 on connect (a larger Retry-After wins)',
    parse: ms(0),
    default: 60_000,
  }),
  maxFrameBytes: setting({
    env: 'BRIDGE_MAX_FRAME_BYTES',
    doc: 'Frames larger than this are refused (counted as too_large) without parsing',
    parse: p.int({ min: 1024, max: 64 * MiB }),
    default: MiB,
  }),
  // Declared once with the functions' settings: the bridge and the functions apply the same acceptance rule.
  maxFutureSkewS: marketSpec.maxFutureSkewS,
  topic: setting({
    env: 'KAFKA_TOPIC',
    doc: 'Topic the trade-batch CloudEvents are written to',
    parse: p.identifier(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name'),
    default: 'market',
  }),
  topicPartitions: setting({
    env: 'KAFKA_TOPIC_PARTITIONS',
    doc: 'Partitions when the bridge creates the topic (or grows it); key = symbol keeps per-symbol order',
    parse: p.int({ min: 1, max: 1000 }),
    default: 6,
  }),
  source: setting({
    env: 'BRIDGE_SOURCE',
    doc: 'CloudEvents source attribute of every record',
    parse: p.text,
    default: 'urn:market-pipeline:bridge',
  }),
  coalesceMs: setting({
    env: 'BRIDGE_COALESCE_MS',
    doc: "Gather a symbol's trades from consecutive frames into one event for up to this long, the window at BRIDGE_COALESCE_FULL_RATE and above (0: one event per frame and symbol)",
    parse: ms(0, 1_000),
    // 200 ms, reached at BRIDGE_COALESCE_FULL_RATE: the window grows 1 ms per 100 trades/s (50 ms at
    // 5,000/s, the goal rate, as before) up to here. Above ~10,000/s the per-event work (Kafka,
    // dispatcher, both deliveries, claim, counter batch, mark) outweighs the per-trade work: at 45,000/s
    // the 200 ms ceiling took 19-27 % less CPU per trade than a 50 ms one (docs/decisions.md, "Longer windows
    // at high rates").
    default: 200,
  }),
  coalesceMinMs: setting({
    env: 'BRIDGE_COALESCE_MIN_MS',
    doc: 'Shortest coalescing window worth waiting for: where the rate gives less, a batch does not wait and holds only the frames that arrived together (equal to BRIDGE_COALESCE_MS: a fixed window)',
    parse: ms(0, 1_000),
    // 20 ms, the replay feed's and a busy feed's frame spacing: a shorter window saves no events against a
    // tick-paced feed and still costs its wait (10 ms at 1,000/s was worse than 20, "Timer slack"), while no
    // wait at all halved the 1,000/s p99s for 2 % more CPU (docs/decisions.md, "No wait when quiet").
    default: 20,
  }),
  coalesceFullRate: setting({
    env: 'BRIDGE_COALESCE_FULL_RATE',
    doc: 'Trades a second (all symbols, last second) from which the window is BRIDGE_COALESCE_MS; below, it shrinks in proportion to the rate, with no wait where that is under BRIDGE_COALESCE_MIN_MS (0: always BRIDGE_COALESCE_MS)',
    parse: p.int({ min: 0, max: 10_000_000 }),
    // 20,000/s with a 200 ms window: the same slope as 50 ms at 5,000/s, so every rate up to 5,000/s keeps
    // the window it was measured with (25 ms at 2,500/s, 20 ms at 2,000/s; below, no wait, where the machine
    // has CPU to spare for more events; docs/decisions.md, "Load-following window", "No wait when quiet").
    default: 20_000,
  }),
  coalesceMaxTrades: setting({
    env: 'BRIDGE_COALESCE_MAX_TRADES',
    doc: 'Most trades one coalesced event gathers (a single larger frame stays one event)',
    parse: p.int({ min: 1, max: 100_000 }),
    // 10,000: above what the byte limit lets in (256 KiB is ~6,000 trades of a short symbol, so a hot
    // symbol's 200 ms window splits from ~30,000 trades/s on); at 500 the window split from ~10,000/s on
    // and the extra events made the 25,000/s phase fall behind (docs/decisions.md, "Sustained rate").
    default: 10_000,
  }),
  coalesceMaxBytes: setting({
    env: 'BRIDGE_COALESCE_MAX_BYTES',
    doc: 'Most bytes one coalesced record gathers; the topic max.message.bytes (read at connect) lowers it further',
    parse: p.int({ min: 1024, max: 64 * MiB }),
    default: 256 * 1024,
  }),
  queueMaxRecords: setting({
    env: 'BRIDGE_QUEUE_MAX_RECORDS',
    doc: 'In-memory queue bound; beyond it records go to the disk spool',
    parse: p.int({ min: 1, max: 10_000_000 }),
    default: 50_000,
  }),
  batchMaxRecords: setting({
    env: 'BRIDGE_BATCH_MAX_RECORDS',
    doc: 'Most records per Kafka send (the batch in flight)',
    parse: p.int({ min: 1, max: 100_000 }),
    default: 2_000,
  }),
  batchMaxBytes: setting({
    env: 'BRIDGE_BATCH_MAX_BYTES',
    doc: 'Most record bytes per Kafka send; the topic max.message.bytes (read at connect) lowers it further',
    parse: p.int({ min: 1024, max: 64 * MiB }),
    default: MiB,
  }),
  kafkaStallMs: setting({
    env: 'BRIDGE_KAFKA_STALL_MS',
    doc: 'A send not acknowledged within this time marks Kafka unavailable (spooling starts, readiness false)',
    parse: ms(10),
    default: 2_000,
  }),
  retryInitialMs: setting({
    env: 'BRIDGE_KAFKA_RETRY_INITIAL_MS',
    doc: 'First pause before re-sending a failed batch (doubles, equal jitter)',
    parse: ms(1),
    default: 200,
  }),
  retryMaxMs: setting({
    env: 'BRIDGE_KAFKA_RETRY_MAX_MS',
    doc: 'Longest pause before re-sending a failed batch',
    parse: ms(1),
    default: 5_000,
  }),
  spoolDir: setting({
    env: 'BRIDGE_SPOOL_DIR',
    doc: 'Directory of the disk spool (an emptyDir volume in the cluster, see knative/README.md)',
    parse: p.text,
    default: '.cache/bridge-spool',
  }),
  spoolMaxBytes: setting({
    env: 'BRIDGE_SPOOL_MAX_BYTES',
    doc: 'Spool size limit; beyond it records are dropped and counted',
    parse: p.int({ min: MiB, max: Number.MAX_SAFE_INTEGER }),
    default: 1024 * MiB,
  }),
  spoolSegmentBytes: setting({
    env: 'BRIDGE_SPOOL_SEGMENT_BYTES',
    doc: 'Spool segment file size (delivered segments are deleted whole)',
    parse: p.int({ min: 64 * 1024, max: 1024 * MiB }),
    default: 64 * MiB,
  }),
  spoolFsync: setting({
    env: 'BRIDGE_SPOOL_FSYNC',
    doc: 'always: fsync each append; interval: at most BRIDGE_SPOOL_FSYNC_INTERVAL_MS later; never: leave it to the OS',
    parse: p.oneOf('always', 'interval', 'never'),
    default: 'interval' as const,
  }),
  spoolFsyncIntervalMs: setting({
    env: 'BRIDGE_SPOOL_FSYNC_INTERVAL_MS',
    doc: 'fsync period of the interval policy',
    parse: ms(1, 60_000),
    default: 100,
  }),
  shutdownTimeoutMs: setting({
    env: 'BRIDGE_SHUTDOWN_TIMEOUT_MS',
    doc: 'On SIGTERM, how long to wait for Kafka to take everything before saving the rest to the spool',
    parse: ms(0),
    default: 10_000,
  }),
  httpHost: setting({
    env: 'BRIDGE_HTTP_HOST',
    doc: 'Listen address of /healthz, /readyz, /metrics',
    parse: p.text,
    default: '0.0.0.0',
  }),
  httpPort: setting({
    env: 'BRIDGE_HTTP_PORT',
    doc: 'Listen port of /healthz, /readyz, /metrics (0: any free port)',
    parse: p.int({ min: 0, max: 65_535 }),
    default: 8080,
  }),
} as const;

export type BridgeConfig = ReturnType<typeof loadBridgeConfig>;
export const loadBridgeConfig = (env: Env = process.env) => loadConfig(bridgeSpec, env);
