/**
 * Bridge entry point: the only place that reads the environment and handles signals.
 * `node --import tsx functions/bridge/main.ts`
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadedSettings } from '../../shared/config/env.ts';
import { kafkaClientOptions, loadKafkaConfig } from '../../shared/kafka/config.ts';
import { createLogger } from '../../shared/observability/index.ts';
import { loadBridgeConfig } from './config.ts';
import { BridgeErrors } from './errors.ts';
import { type BridgeService, startBridgeService } from './service.ts';

const log = createLogger('bridge');

let service: BridgeService;
try {
  const config = loadBridgeConfig();
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

let exiting = false;
async function shutdown(signal: string, code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  log.info({ signal }, 'shutting down: closing the feed, flushing to Kafka');
  try {
    await service.stop();
  } catch (err) {
    log.error({ code: BridgeErrors.INTERNAL.code, err }, 'error during shutdown');
    code = 1;
  }
  log.flush();
  setTimeout(() => process.exit(code), 50).unref();
}

process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
process.on('SIGINT', () => void shutdown('SIGINT', 0));
process.on('uncaughtException', (err) => {
  log.fatal(
    { code: BridgeErrors.INTERNAL.code, err },
    'uncaught exception; saving what is queued and exiting',
  );
  void shutdown('uncaughtException', 1);
});
process.on('unhandledRejection', (err) => {
  log.error({ code: BridgeErrors.INTERNAL.code, err }, 'unhandled promise rejection');
});
