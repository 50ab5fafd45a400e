import { HEALTH_PANELS } from './health-panels.ts';
import { MARKET_PANELS } from './market-panels.ts';
import type { CqlPanel, DashboardLayout, Panel, PromPanel } from './types.ts';

/**
 * The one catalogue of dashboard panels. The Grafana generator (grafana/generate.ts) and the local viewer
 * (dev/viewer) both draw from it; neither holds a query of its own.
 */
export * from './cql.ts';
export { HEALTH_PANELS } from './health-panels.ts';
export { MARKET_PANELS, RESOLUTION_VARIABLE, SYMBOL_VARIABLE } from './market-panels.ts';
export * from './overview.ts';
export * from './run.ts';
export type * from './types.ts';

export const PANELS: readonly Panel[] = [...MARKET_PANELS, ...HEALTH_PANELS];

export type MarketPanelId = (typeof MARKET_PANELS)[number]['id'];
export type HealthPanelId = (typeof HEALTH_PANELS)[number]['id'];

export function panel(id: string): Panel {
  const p = PANELS.find((x) => x.id === id);
  if (!p) throw new Error(`no panel ${id} in the catalogue`);
  return p;
}

export const cqlPanel = (id: MarketPanelId): CqlPanel => panel(id) as CqlPanel;
export const promPanel = (id: HealthPanelId): PromPanel => panel(id) as PromPanel;

/** The market dashboard: seed parity (price, volume, counts, past minutes) plus candles, VWAP, symbol. */
export const MARKET_DASHBOARD: DashboardLayout = {
  uid: 'market',
  title: 'Market',
  description: 'Trades, minute aggregates and candles of one symbol, from the market keyspace.',
  tags: ['market', 'cassandra'],
  refresh: '5s',
  timeFrom: 'now-15m',
  rows: [
    {
      title: 'Latest',
      panels: [
        { panel: 'lastTrade', w: 8, h: 4 },
        { panel: 'minuteAvgPrice', w: 8, h: 4 },
        { panel: 'minuteTradeCount', w: 8, h: 4 },
      ],
    },
    {
      title: 'Trades',
      panels: [
        { panel: 'price', w: 16, h: 9 },
        { panel: 'tradesPerMinute', w: 8, h: 9 },
        { panel: 'volume', w: 16, h: 6 },
      ],
    },
    {
      title: 'Minutes',
      panels: [
        { panel: 'candles', w: 14, h: 11 },
        { panel: 'pastMinutes', w: 10, h: 11 },
      ],
    },
  ],
};

/** The pipeline-health dashboard: rates, latency, dead letters, lag, staleness, scale. */
export const HEALTH_DASHBOARD: DashboardLayout = {
  uid: 'pipeline-health',
  title: 'Pipeline health',
  description:
    'Throughput, latency, dead letters, consumer lag, staleness and scale of the pipeline (Prometheus).',
  tags: ['market', 'pipeline', 'prometheus'],
  refresh: '10s',
  timeFrom: 'now-30m',
  rows: [
    {
      title: 'Flow',
      panels: [
        { panel: 'tradesPerSecond', w: 12, h: 8 },
        { panel: 'pipelineLatency', w: 12, h: 8 },
        { panel: 'deliveries', w: 12, h: 8 },
        { panel: 'functionLatency', w: 12, h: 8 },
      ],
    },
    {
      title: 'Problems',
      panels: [
        { panel: 'deadLetters', w: 8, h: 7 },
        { panel: 'functionErrors', w: 8, h: 7 },
        { panel: 'consumerLag', w: 8, h: 7 },
        { panel: 'replayAndRefinalize', w: 24, h: 7 },
      ],
    },
    {
      title: 'Staleness and scale',
      panels: [
        { panel: 'lastTradeAge', w: 12, h: 7 },
        { panel: 'finalizedStaleness', w: 12, h: 7 },
        { panel: 'functionScale', w: 6, h: 7 },
        { panel: 'finalizer', w: 6, h: 7 },
        { panel: 'bridgeState', w: 6, h: 7 },
        { panel: 'bridgeCoalescing', w: 6, h: 7 },
      ],
    },
  ],
};
