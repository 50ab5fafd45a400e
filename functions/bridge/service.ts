import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { createKafkaClient, type KafkaClientOptions } from '../../shared/kafka/index.ts';
import { createRegistry, type Logger, registerSecret } from '../../shared/observability/index.ts';
import { Bridge } from './bridge.ts';
import { type BridgeConfig, FINNHUB_DEFAULT_URL } from './config.ts';
import { startHttp } from './http.ts';
import { KafkaSink } from './kafka-sink.ts';
import type { OutRecord } from './record.ts';

export interface BridgeService {
  readonly bridge: Bridge;
  readonly registry: Registry;
  /** Base URL of the health/metrics server. */
  readonly httpUrl: string;
  /** The built-in replay feed's URL when one was started (no token). */
  readonly replayUrl: string | undefined;
  stop(timeoutMs?: number): Promise<{ drained: boolean; spooled: number }>;
}

/**
 * Wires a running bridge from loaded settings: Kafka client + sink, the bridge, the HTTP server and, when no
 * token is set and FINNHUB_URL is the Finnhub default, the built-in replay feed.
 */
export async function startBridgeService(opts: {
  config: BridgeConfig;
  kafka: KafkaClientOptions;
  logger: Logger;
  registry?: Registry;
  onAck?: (records: readonly OutRecord[], ackAt: number) => void;
}): Promise<BridgeService> {
  const { config, logger } = opts;
  registerSecret(config.token);
  const registry = opts.registry ?? createRegistry({ service: 'bridge' });

  let feedUrl = config.url;
  let closeReplay: (() => Promise<void>) | undefined;
  let replayUrl: string | undefined;
  if (!config.token && config.url === FINNHUB_DEFAULT_URL) {
    const { startReplayFeed } = await import('../../dev/replay-feed/server.ts');
    const feed = await startReplayFeed({
      tradesPerSecond: config.replayRate,
      market: { seed: config.replaySeed },
      ...(config.replayFile ? { replayFile: config.replayFile, replayLoop: true } : {}),
      disconnectEveryMs: config.replayDisconnectEveryMs,
      pingIntervalMs: config.replayPingMs,
      maxSymbols: config.maxSymbols,
    });
    feedUrl = feed.url;
    replayUrl = feed.url;
    closeReplay = () => feed.close();
    logger.info(
      { url: feed.url, rate: config.replayRate },
      'no FINNHUB_TOKEN: using the built-in replay feed',
    );
  } else if (!config.token) {
    logger.info({ url: config.url }, 'no FINNHUB_TOKEN: connecting to FINNHUB_URL without a token');
  }

  const client = createKafkaClient({ ...opts.kafka, logger: logger.child({ component: 'kafka' }) });
  const sink = new KafkaSink(client, config.topic, config.topicPartitions, logger);
  const bridge = new Bridge({
    config,
    feedUrl,
    logger,
    registry,
    sink,
    ...(opts.onAck ? { onAck: opts.onAck } : {}),
  });
  let app: FastifyInstance | undefined;
  let httpUrl = '';
  try {
    ({ app, url: httpUrl } = await startHttp(bridge, registry, config.httpHost, config.httpPort));
  } catch (err) {
    await closeReplay?.();
    await client.close();
    throw err;
  }
  bridge.start();
  logger.info(
    { feed: bridge.feed.safeUrl, topic: config.topic, symbols: config.symbols.length, http: httpUrl },
    'bridge started',
  );

  let stopping: Promise<{ drained: boolean; spooled: number }> | undefined;
  return {
    bridge,
    registry,
    httpUrl,
    replayUrl,
    stop(timeoutMs = config.shutdownTimeoutMs) {
      stopping ??= (async () => {
        const res = await bridge.stop(timeoutMs);
        await app?.close();
        await closeReplay?.();
        await client.close();
        return res;
      })();
      return stopping;
    },
  };
}
