import { type Env, loadConfig, type Setting } from '../../shared/config/env.ts';
import * as p from '../../shared/config/parsers.ts';

const ms = (min = 0) => p.int({ min, max: 24 * 3600 * 1000 });

/**
 * Settings of the replay feed when it runs as a process of `npm start` (dev/replay-feed/main.ts). The bridge
 * knows nothing of them: it reaches this feed through FINNHUB_URL like any feed.
 */
export const replayFeedSpec = {
  host: {
    env: 'REPLAY_HOST',
    doc: 'Listen address of the replay feed (websocket, /healthz, /readyz)',
    parse: p.text,
    default: '127.0.0.1',
  } satisfies Setting<string>,
  port: {
    env: 'REPLAY_PORT',
    doc: 'Listen port of the replay feed (0: any free port)',
    parse: p.int({ min: 0, max: 65_535 }),
    default: 8765,
  } satisfies Setting<number>,
  rate: {
    env: 'REPLAY_TRADES_PER_SECOND',
    doc: 'Generated trades per second over all subscribed symbols',
    parse: p.num({ min: 0, max: 10_000_000 }),
    default: 20,
  } satisfies Setting<number>,
  file: {
    env: 'REPLAY_FILE',
    doc: 'Replay this JSON-lines recording (looped) instead of generating',
    parse: p.text,
    default: undefined,
  } satisfies Setting<string | undefined>,
  seed: {
    env: 'REPLAY_SEED',
    doc: 'PRNG seed of the synthetic market',
    parse: p.int({ min: 0, max: 2 ** 32 - 1 }),
    default: 1,
  } satisfies Setting<number>,
  disconnectEveryMs: {
    env: 'REPLAY_DISCONNECT_EVERY_MS',
    doc: 'Server-side disconnect of each connection about this often (0: never), like Finnhub',
    parse: ms(0),
    default: 600_000,
  } satisfies Setting<number>,
  pingMs: {
    env: 'REPLAY_PING_MS',
    doc: 'Ping interval',
    parse: ms(0),
    default: 60_000,
  } satisfies Setting<number>,
  maxSymbols: {
    env: 'REPLAY_MAX_SYMBOLS',
    doc: 'Symbols per connection before "Subscribing to too many symbols" (Finnhub free tier: 50)',
    parse: p.int({ min: 1, max: 10_000 }),
    default: 50,
  } satisfies Setting<number>,
} as const;

export type ReplayFeedConfig = ReturnType<typeof loadReplayFeedConfig>;
export const loadReplayFeedConfig = (env: Env = process.env) => loadConfig(replayFeedSpec, env);
