/**
 * The local viewer process: `npx tsx dev/viewer/main.ts` (config from the environment, see README.md).
 * Bundles the page, connects to Cassandra (retried; /readyz says when it is up) and serves until SIGTERM/SIGINT.
 */
import { createCassandraClient } from '../../shared/cassandra/client.ts';
import { loadCassandraConfig } from '../../shared/cassandra/config.ts';
import { loadOrExit } from '../../shared/host/process.ts';
import { createLogger, registerSecret } from '../../shared/observability/logger.ts';
import { createRegistry } from '../../shared/observability/metrics.ts';
import { bundleAssets } from './bundle.ts';
import { loadViewerConfig } from './config.ts';
import { createViewerServer } from './server.ts';

const cfg = loadOrExit('viewer', () => ({
  viewer: loadViewerConfig(process.env),
  cassandra: loadCassandraConfig(process.env),
}));
const log = createLogger('viewer');
registerSecret(cfg.cassandra.password);
const registry = createRegistry({ service: 'viewer' });
const client = createCassandraClient(cfg.cassandra, { applicationName: 'viewer' });
let stopping = false;
void (async () => {
  for (let attempt = 1; !stopping; attempt += 1) {
    try {
      await client.connect();
      log.info({ attempt }, 'connected to Cassandra');
      return;
    } catch (err) {
      log.warn({ attempt, err: (err as Error).message }, 'Cassandra not reachable yet, retrying');
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * attempt)));
    }
  }
})();

const app = createViewerServer({ client, log, registry, config: cfg.viewer, assets: await bundleAssets() });
await app.listen({ port: cfg.viewer.port, host: cfg.viewer.host });
log.info({ url: `http://${cfg.viewer.host}:${cfg.viewer.port}/` }, 'viewer listening');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    stopping = true;
    log.info({ signal }, 'stopping');
    void app
      .close()
      .then(() => client.shutdown())
      .finally(() => process.exit(0));
  });
}
