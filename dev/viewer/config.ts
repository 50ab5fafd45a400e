import { type Env, loadConfig, type Setting } from '../../shared/config/env.ts';
import * as p from '../../shared/config/parsers.ts';

export const viewerSpec = {
  port: {
    env: 'VIEWER_PORT',
    doc: 'Port of the viewer page, its JSON API, /healthz, /readyz and /metrics',
    parse: p.int({ min: 0, max: 65535 }),
    default: 8090,
  } satisfies Setting<number>,
  host: {
    env: 'VIEWER_HOST',
    doc: 'Address the viewer listens on',
    parse: p.text,
    default: '127.0.0.1',
  } satisfies Setting<string>,
  windowS: {
    env: 'VIEWER_WINDOW_S',
    doc: 'Time range the panels show, ending now (seconds)',
    parse: p.int({ min: 60, max: 86_400 }),
    default: 900,
  } satisfies Setting<number>,
  pollMs: {
    env: 'VIEWER_POLL_MS',
    doc: 'How often the page asks for fresh panel data (milliseconds)',
    parse: p.int({ min: 200, max: 60_000 }),
    default: 1000,
  } satisfies Setting<number>,
  scrapeUrls: {
    env: 'VIEWER_SCRAPE_URLS',
    doc: 'Prometheus /metrics URLs of the pipeline processes, comma-separated, for the health strip (unset: Cassandra-only health)',
    parse: p.list(p.url(['http', 'https'])),
    default: undefined,
  } satisfies Setting<string[] | undefined>,
  symbols: {
    env: 'FINNHUB_SYMBOLS',
    doc: 'The subscribed symbols, in priority order: the first is the default symbol, and the overview lists them all (with every other symbol stored)',
    parse: p.list(p.text, { max: 10_000 }),
    default: undefined,
  } satisfies Setting<string[] | undefined>,
  scrapeTimeoutMs: {
    env: 'VIEWER_SCRAPE_TIMEOUT_MS',
    doc: 'Timeout of one /metrics scrape (milliseconds)',
    parse: p.int({ min: 50, max: 30_000 }),
    default: 800,
  } satisfies Setting<number>,
} as const;

export type ViewerConfig = ReturnType<typeof loadViewerConfig>;
export const loadViewerConfig = (env: Env = process.env) => loadConfig(viewerSpec, env);
