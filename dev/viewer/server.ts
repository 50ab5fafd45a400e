import type cassandra from 'cassandra-driver';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { MAX_SYMBOL_LENGTH } from '../../shared/contract/validate.ts';
import { defineErrors, Errors, errorReply } from '../../shared/errors.ts';
import { bucketOf, RESOLUTION_MS, RESOLUTIONS, type Resolution } from '../../shared/market/rollup.ts';
import type { Logger } from '../../shared/observability/logger.ts';
import { registerMetrics } from '../../shared/observability/metrics.ts';
import { probesPlugin } from '../../shared/observability/probes.ts';
import {
  type CqlPanel,
  HEALTH_PANELS,
  joinOverview,
  MARKET_PANELS,
  OVERVIEW_QUERIES,
  type OverviewRow,
  type PanelResult,
  type PromPanel,
  runCql,
  runPanel,
  SYMBOL_VARIABLE,
} from '../../shared/panels/index.ts';
import { type AlertStatus, AlertWatch } from './alerts.ts';
import type { ViewerAssets } from './bundle.ts';
import type { ViewerConfig } from './config.ts';
import { createScraper, type HealthValue, reduce } from './health.ts';

export interface ViewerDeps {
  /** A connected driver client with the market keyspace; the server never builds its own. */
  readonly client: cassandra.Client;
  readonly log: Logger;
  readonly registry: Registry;
  readonly config: Pick<ViewerConfig, 'windowS' | 'pollMs' | 'scrapeUrls' | 'scrapeTimeoutMs'> &
    Partial<Pick<ViewerConfig, 'symbols'>>;
  readonly assets: ViewerAssets;
  readonly now?: () => number;
}

export interface HealthItem {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly values: readonly HealthValue[];
  /** Why there is no value, when there is none. */
  readonly note?: string;
}

export interface ViewResponse {
  readonly symbol: string;
  readonly resolution: Resolution;
  readonly fromMs: number;
  readonly toMs: number;
  readonly panels: Readonly<Record<string, PanelResult | { error: string }>>;
  readonly health: readonly HealthItem[];
  /** The alert conditions of alerts/catalogue.ts, evaluated over the local processes (dev/viewer/alerts.ts). */
  readonly alerts: readonly AlertStatus[];
}

const ViewerErrors = defineErrors({
  SYMBOL_INVALID: {
    code: 'VIEWER_SYMBOL_INVALID',
    status: 400,
    retryable: false,
    message: `symbol must be 1..${MAX_SYMBOL_LENGTH} printable characters`,
    fix: 'pass ?symbol= with one of /api/symbols',
  },
  RESOLUTION_INVALID: {
    code: 'VIEWER_RESOLUTION_INVALID',
    status: 400,
    retryable: false,
    message: `resolution must be one of ${RESOLUTIONS.join(', ')}`,
    fix: 'pass ?resolution= with 1m, 5m, 15m, 1h or 1d',
  },
});

export interface OverviewResponse {
  readonly toMs: number;
  readonly rows: readonly OverviewRow[];
  /** Overview queries that failed (their columns are empty). */
  readonly failed: readonly string[];
}

/** Candles the candle panels reach back at least (30 at 1h: 30 hours). */
const CANDLE_SLOTS = 30;

const validSymbol = (s: unknown): s is string =>
  typeof s === 'string' && s.length > 0 && s.length <= MAX_SYMBOL_LENGTH && /^[\x21-\x7e]+$/.test(s);

/**
 * The live viewer: a page that polls `/api/view`, which runs exactly the catalogue's CQL (rendered for the
 * chosen symbol and the last `windowS` seconds) and computes the health strip from the pipeline processes'
 * `/metrics` and from Cassandra.
 */
export function createViewerServer(deps: ViewerDeps): FastifyInstance {
  const { client, log, registry, config, assets } = deps;
  const now = deps.now ?? Date.now;
  const m = registerMetrics(registry, [
    'viewerRequests',
    'viewerQueryDuration',
    'viewerQueryErrors',
    'viewerScrapeFailures',
  ]);
  const scrapeUrls = config.scrapeUrls ?? [];
  const watch = new AlertWatch(now());
  const scraper = createScraper({
    urls: scrapeUrls,
    timeoutMs: config.scrapeTimeoutMs,
    minGapMs: Math.max(500, config.pollMs / 2),
    onFailure: (url, err) => {
      m.viewerScrapeFailures.inc({ target: url });
      log.warn({ url, err: err.message }, 'metrics scrape failed');
    },
    now,
  });

  async function timedPanel(
    p: { id: string; cql: string },
    vars: { symbol: string; fromMs: number; toMs: number; resolution?: Resolution; symbols?: string[] },
  ) {
    const end = m.viewerQueryDuration.startTimer({ panel: p.id });
    try {
      return await runPanel(client, p as CqlPanel, vars);
    } catch (err) {
      m.viewerQueryErrors.inc({ panel: p.id });
      log.warn({ panel: p.id, err: (err as Error).message }, 'panel query failed');
      return { error: (err as Error).message };
    } finally {
      end();
    }
  }

  async function health(panels: ViewResponse['panels'], nowMs: number): Promise<HealthItem[]> {
    const withLocal = (HEALTH_PANELS as readonly PromPanel[]).filter((p) => p.local);
    const snaps = scrapeUrls.length > 0 ? await scraper.snapshots() : undefined;
    return withLocal.map((p) => {
      const base = { id: p.id, title: p.title, unit: p.unit };
      const r = p.local!;
      if (r.kind === 'rowAge') {
        const res = panels[r.panel];
        if (!res || 'error' in res)
          return { ...base, values: [{ label: 'seconds', value: null }], note: 'query failed' };
        const t = res.columns.indexOf(MARKET_PANELS.find((x) => x.id === r.panel)!.timeColumn);
        const time = res.rows[0]?.[t];
        return typeof time === 'number'
          ? { ...base, values: [{ label: 'seconds', value: (nowMs - time) / 1000 }] }
          : { ...base, values: [{ label: 'seconds', value: null }], note: 'no trade stored' };
      }
      if (!snaps) return { ...base, values: reduceEmpty(r), note: 'no VIEWER_SCRAPE_URLS' };
      const values = reduce(r, snaps.cur, snaps.prev, nowMs);
      const note = values.every((v) => v.value === null)
        ? snaps.cur.byTarget.size === 0
          ? 'scrape failed'
          : 'not exposed yet'
        : undefined;
      return note ? { ...base, values, note } : { ...base, values };
    });
  }

  const reduceEmpty = (r: NonNullable<PromPanel['local']>) =>
    r.kind === 'quantiles'
      ? r.quantiles.map((q) => ({ label: `p${Math.round(q * 100)}`, value: null }))
      : [{ label: '', value: null }];

  const app = Fastify({ logger: false });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    if (route.startsWith('/api/')) {
      m.viewerRequests.inc({ route, outcome: reply.statusCode < 400 ? 'ok' : 'error' });
    }
  });

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(assets.html));
  app.get('/app.js', async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(assets.js),
  );
  app.get('/app.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(assets.css));

  app.get('/api/config', async () => ({ pollMs: config.pollMs, windowS: config.windowS }));

  /** The configured symbols in their order (the first is the default), then every other stored one. */
  async function symbols(): Promise<string[]> {
    const r = await runCql(client, SYMBOL_VARIABLE.cql);
    const configured = config.symbols ?? [];
    const stored = r.rows.map((row) => String(row[0])).filter((s) => !configured.includes(s));
    return [...configured, ...stored.sort()];
  }

  app.get('/api/symbols', async (_req, reply) => {
    try {
      return { symbols: await symbols() };
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'symbol query failed');
      const r = errorReply(Errors.STORE_UNAVAILABLE, 'Cassandra unavailable');
      return reply.code(r.status).send(r.body);
    }
  });

  app.get('/api/overview', async (_req, reply) => {
    let list: string[];
    try {
      list = await symbols();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'symbol query failed');
      const r = errorReply(Errors.STORE_UNAVAILABLE, 'Cassandra unavailable');
      return reply.code(r.status).send(r.body);
    }
    const toMs = now();
    const vars = { symbol: '', symbols: list, fromMs: toMs - 3_600_000, toMs };
    const results = await Promise.all(
      OVERVIEW_QUERIES.map(async (q) => [q.id, list.length ? await timedPanel(q, vars) : undefined] as const),
    );
    const ok = Object.fromEntries(results.map(([id, r]) => [id, r && !('error' in r) ? r : undefined]));
    const body: OverviewResponse = {
      toMs,
      rows: joinOverview(list, ok as Parameters<typeof joinOverview>[1], toMs),
      failed: results.filter(([, r]) => r && 'error' in r).map(([id]) => id),
    };
    return body;
  });

  app.get<{ Querystring: { symbol?: string; resolution?: string } }>('/api/view', async (req, reply) => {
    const symbol = req.query.symbol;
    if (!validSymbol(symbol)) {
      const r = errorReply(ViewerErrors.SYMBOL_INVALID);
      return reply.code(r.status).send(r.body);
    }
    const resolution = (req.query.resolution ?? '1m') as Resolution;
    if (!RESOLUTIONS.includes(resolution)) {
      const r = errorReply(ViewerErrors.RESOLUTION_INVALID);
      return reply.code(r.status).send(r.body);
    }
    const toMs = now();
    const fromMs = toMs - config.windowS * 1000;
    // Candles reach back at least CANDLE_SLOTS candles, from the start of a bucket: a 15-minute window
    // would hold no hour or day candle at all.
    const candleFromMs = bucketOf(
      Math.min(fromMs, toMs - CANDLE_SLOTS * RESOLUTION_MS[resolution]),
      resolution,
    );
    const results = await Promise.all(
      (MARKET_PANELS as readonly CqlPanel[]).map(async (p) => {
        const from = p.id === 'candles' || p.id === 'pastMinutes' ? candleFromMs : fromMs;
        return [p.id, await timedPanel(p, { symbol, fromMs: from, toMs, resolution })] as const;
      }),
    );
    const panels = Object.fromEntries(results);
    const snap =
      scrapeUrls.length > 0 ? (await scraper.snapshots()).cur : { atMs: toMs, byTarget: new Map() };
    const cassandraOk = results.every(([, r]) => !('error' in r));
    const alerts = watch.evaluate(snap, cassandraOk, toMs);
    const body: ViewResponse = {
      symbol,
      resolution,
      fromMs,
      toMs,
      panels,
      health: await health(panels, toMs),
      alerts,
    };
    return body;
  });

  app.register(probesPlugin, {
    registry,
    readiness: async () => {
      try {
        await client.execute('SELECT release_version FROM system.local', [], { isIdempotent: true });
        return { reasons: [] };
      } catch {
        return { reasons: ['Cassandra unreachable'] };
      }
    },
  });
  return app;
}
