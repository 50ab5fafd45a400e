import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { createKafkaClient, type KafkaClientOptions } from '../../shared/kafka/index.ts';
import { createRegistry, type Logger, registerSecret } from '../../shared/observability/index.ts';
import { Bridge } from './bridge.ts';
import type { BridgeConfig } from './config.ts';
import { startHttp } from './http.ts';
import { KafkaSink } from './kafka-sink.ts';
import type { OutRecord } from './record.ts';

export interface BridgeService {
  readonly bridge: Bridge;
  readonly registry: Registry;
  /** Base URL of the health/metrics server. */
  readonly httpUrl: string;
  stop(timeoutMs?: number): Promise<{ drained: boolean; spooled: number }>;
}

/**
 * Wires a running bridge from loaded settings: Kafka client + sink, the bridge and the HTTP server. The feed is
 * whatever FINNHUB_URL names (Finnhub in the cluster, the replay feed process under `npm start`).
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

  if (!config.token) {
    logger.info({ url: config.url }, 'no FINNHUB_TOKEN: connecting to FINNHUB_URL without a token');
  }

  const client = createKafkaClient({ ...opts.kafka, logger: logger.child({ component: 'kafka' }) });
  const sink = new KafkaSink(client, config.topic, config.topicPartitions, logger, {
    // A trade larger than the topic's limit can never be written: counted as lost, like a full spool.
    onOversized: (r) => bridge.metrics.bridgeDropped.inc({ reason: 'too_large' }, r.trades),
  });
  const bridge: Bridge = new Bridge({
    config,
    feedUrl: config.url,
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
    stop(timeoutMs = config.shutdownTimeoutMs) {
      stopping ??= (async () => {
        const res = await bridge.stop(timeoutMs);
        await app?.close();
        await client.close();
        return res;
      })();
      return stopping;
    },
  };
}
