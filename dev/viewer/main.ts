/**
 * The local viewer process: `npx tsx dev/viewer/main.ts` (config from the environment, see README.md).
 * Bundles the page, connects to Cassandra (retried; /readyz says when it is up) and serves until SIGTERM/SIGINT.
 */
import { loadCassandraConfig } from '../../shared/cassandra/config.ts';
import { openCassandraSession } from '../../shared/cassandra/session.ts';
import { loadedSettings } from '../../shared/config/env.ts';
import { loadOrExit } from '../../shared/host/process.ts';
import { gracefulShutdown } from '../../shared/host/shutdown.ts';
import { createLogger } from '../../shared/observability/logger.ts';
import { createRegistry } from '../../shared/observability/metrics.ts';
import { bundleAssets } from './bundle.ts';
import { loadViewerConfig } from './config.ts';
import { createViewerServer } from './server.ts';

const cfg = loadOrExit('viewer', () => ({
  viewer: loadViewerConfig(process.env),
  cassandra: loadCassandraConfig(process.env),
}));
const log = createLogger('viewer');
const registry = createRegistry({ service: 'viewer' });
const session = openCassandraSession(cfg.cassandra, 'viewer', log);
const { client } = session;

const app = createViewerServer({ client, log, registry, config: cfg.viewer, assets: await bundleAssets() });
await app.listen({ port: cfg.viewer.port, host: cfg.viewer.host });
log.info(
  { url: `http://${cfg.viewer.host}:${cfg.viewer.port}/`, settings: loadedSettings() },
  'viewer listening',
);

gracefulShutdown({
  log,
  graceMs: 10_000,
  steps: [
    { name: 'http', run: () => app.close() },
    { name: 'cassandra', run: () => session.close() },
  ],
});
