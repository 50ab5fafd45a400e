/**
 * Local KafkaSource/PingSource dispatcher: `tsx dev/dispatcher/main.ts`. The only place that reads the
 * environment and handles signals; everything else takes its settings as arguments.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadedSettings } from '../../shared/config/env.ts';
import { gracefulShutdown } from '../../shared/host/shutdown.ts';
import { kafkaClientOptions, loadKafkaConfig } from '../../shared/kafka/config.ts';
import { createKafkaClient } from '../../shared/kafka/index.ts';
import { createLogger } from '../../shared/observability/logger.ts';
import { createRegistry } from '../../shared/observability/metrics.ts';
import { loadDispatcherConfig } from './config.ts';
import { DispatcherSetupError, startDispatcher } from './dispatcher.ts';
import { loadManifests, ManifestError, renameTopics } from './manifests.ts';
import { createServer } from './server.ts';

const log = createLogger('dispatcher');

async function main(): Promise<void> {
  const cfg = loadDispatcherConfig();
  const manifests = renameTopics(await loadManifests(cfg.manifests), cfg.topics ?? {});
  const needsKafka = manifests.kafkaSources.some((s) => !cfg.sources || cfg.sources.includes(s.name));
  const kafka = needsKafka
    ? createKafkaClient({
        ...kafkaClientOptions(loadKafkaConfig(), {
          clientId: 'dispatcher',
          readFile: (f) => readFileSync(f, 'utf8'),
        }),
        logger: log.child({ component: 'kafka' }),
      })
    : undefined;
  const registry = createRegistry({ service: 'dispatcher' });
  if (cfg.duplicateRatio > 0)
    log.warn({ ratio: cfg.duplicateRatio }, 'chaos: re-sending a share of delivered events');
  const dispatcher = await startDispatcher({
    manifests,
    sinks: cfg.sinks ?? {},
    ...(cfg.sources ? { sources: cfg.sources } : {}),
    ...(kafka ? { kafka } : {}),
    logger: log,
    registry,
    commitIntervalMs: cfg.commitIntervalMs,
    maxInFlight: cfg.maxInFlight,
    shutdownGraceMs: cfg.shutdownGraceMs,
    duplicateRatio: cfg.duplicateRatio,
    pingTimeoutMs: cfg.pingTimeoutMs,
    pingSchedule: cfg.pingSchedule,
  });
  const server = createServer(dispatcher, registry);
  const address = await server.listen({ host: cfg.host, port: cfg.port });
  log.info(
    {
      address,
      kafkaSources: dispatcher.kafkaSources,
      pingSources: dispatcher.pingSources,
      settings: loadedSettings(),
    },
    'dispatcher up',
  );

  // A stuck broker must not keep the process forever: grace for deliveries plus time to commit and leave.
  gracefulShutdown({
    log,
    graceMs: cfg.shutdownGraceMs + 30_000,
    steps: [
      { name: 'dispatcher (in-flight deliveries, commits, group leave)', run: () => dispatcher.stop() },
      { name: 'kafka', run: () => kafka?.close() },
      { name: 'http', run: () => server.close() },
    ],
  });
}

main().catch((err: unknown) => {
  const known =
    err instanceof ConfigError || err instanceof ManifestError || err instanceof DispatcherSetupError;
  if (known) log.error((err as Error).message);
  else log.error({ err }, 'dispatcher failed');
  log.flush();
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 200).unref();
});
