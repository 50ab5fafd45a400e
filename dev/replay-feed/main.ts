/**
 * The replay feed as a process of `npm start` (dev/pipeline/stack.ts): settings from the environment
 * (config.ts), pino logs, /healthz, /readyz and /metrics on the websocket's port, stops on SIGTERM/SIGINT. The bridge
 * reaches it through FINNHUB_URL like any feed. For flags and stdin control use cli.ts.
 */
import { loadedSettings } from '../../shared/config/env.ts';
import { loadOrExit } from '../../shared/host/process.ts';
import { gracefulShutdown } from '../../shared/host/shutdown.ts';
import { createLogger } from '../../shared/observability/logger.ts';
import { createRegistry } from '../../shared/observability/metrics.ts';
import { loadReplayFeedConfig } from './config.ts';
import { startReplayFeed } from './server.ts';

const cfg = loadOrExit('replay-feed', () => loadReplayFeedConfig(process.env));
const log = createLogger('replay-feed');
const feed = await startReplayFeed({
  host: cfg.host,
  port: cfg.port,
  tradesPerSecond: cfg.rate,
  market: { seed: cfg.seed },
  ...(cfg.file ? { replayFile: cfg.file, replayLoop: true } : {}),
  disconnectEveryMs: cfg.disconnectEveryMs,
  pingIntervalMs: cfg.pingMs,
  maxSymbols: cfg.maxSymbols,
  registry: createRegistry({ service: 'replay-feed' }),
});
log.info(
  { url: feed.url, rate: cfg.rate, file: cfg.file, settings: loadedSettings() },
  'replay feed listening',
);

gracefulShutdown({
  log,
  graceMs: 10_000,
  steps: [
    { name: 'stats', run: () => log.info({ stats: feed.stats }, 'final stats') },
    { name: 'feed', run: () => feed.close() },
  ],
});
