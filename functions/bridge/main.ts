/**
 * Bridge entry point: the only place that reads the environment and handles signals.
 * `node --import tsx functions/bridge/main.ts`
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadedSettings } from '../../shared/config/env.ts';
import { gracefulShutdown } from '../../shared/host/shutdown.ts';
import { kafkaClientOptions, loadKafkaConfig } from '../../shared/kafka/config.ts';
import { createLogger } from '../../shared/observability/index.ts';
import { type BridgeConfig, loadBridgeConfig } from './config.ts';
import { BridgeErrors } from './errors.ts';
import { type BridgeService, startBridgeService } from './service.ts';

const log = createLogger('bridge');

let service: BridgeService;
let config: BridgeConfig;
try {
  config = loadBridgeConfig();
  const kafka = kafkaClientOptions(loadKafkaConfig(), {
    clientId: 'bridge',
    readFile: (p) => readFileSync(p, 'utf8'),
  });
  service = await startBridgeService({ config, kafka, logger: log });
  log.info({ settings: loadedSettings() }, 'bridge started');
} catch (err) {
  const d = BridgeErrors.CONFIG_INVALID;
  if (err instanceof ConfigError)
    log.fatal({ code: d.code, problems: err.problems }, `${err.message}\n${d.fix}`);
  else log.fatal({ code: BridgeErrors.INTERNAL.code, err }, 'bridge failed to start');
  log.flush();
  await new Promise((r) => setTimeout(r, 100));
  process.exit(err instanceof ConfigError ? 2 : 1);
}

const shutdown = gracefulShutdown({
  log,
  // service.stop bounds its own wait for Kafka (BRIDGE_SHUTDOWN_TIMEOUT_MS) and then spools the rest; the
  // margin covers writing the spool, and only a step hanging past it ends the process unclean.
  graceMs: config.shutdownTimeoutMs + 20_000,
  steps: [{ name: 'bridge (close the feed, flush to Kafka, spool the rest)', run: () => service.stop() }],
});

process.on('uncaughtException', (err) => {
  log.fatal(
    { code: BridgeErrors.INTERNAL.code, err },
    'uncaught exception; saving what is queued and exiting',
  );
  void shutdown.exit('uncaughtException', 1);
});
process.on('unhandledRejection', (err) => {
  log.error({ code: BridgeErrors.INTERNAL.code, err }, 'unhandled promise rejection');
});
