import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  cqlProblems,
  HEALTH_PANELS,
  MARKET_PANELS,
  OVERVIEW_QUERIES,
  PANELS,
  SYMBOL_VARIABLE,
} from '../shared/panels/index.ts';
import { dashboardJson, GENERATED_NOTE, generateDashboards } from './dashboards.ts';
import { CASSANDRA_DS, PROMETHEUS_DS } from './datasources.ts';
import { DASHBOARD_DIR } from './generate.ts';

interface Target {
  datasource?: { type: string; uid: string };
  target?: string;
  expr?: string;
  rawQuery?: boolean;
}
interface GPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface GDashboard {
  uid: string;
  description: string;
  panels: GPanel[];
  templating?: { list: { datasource?: { type: string; uid: string }; query?: unknown }[] };
}

const files = generateDashboards();
const checkedIn = (file: string): GDashboard => JSON.parse(readFileSync(join(DASHBOARD_DIR, file), 'utf8'));
const provisioned = parse(
  readFileSync(join(import.meta.dirname, 'provisioning/datasources/datasources.yaml'), 'utf8'),
) as {
  datasources: { uid: string; type: string; secureJsonData?: Record<string, string> }[];
};

describe('generated dashboards', () => {
  it.each(Object.keys(files))('%s is up to date (npm run grafana:generate)', (file) => {
    expect(readFileSync(join(DASHBOARD_DIR, file), 'utf8')).toBe(dashboardJson(files[file]!));
  });

  it.each(Object.keys(files))('%s says it is generated', (file) => {
    expect(checkedIn(file).description).toContain(GENERATED_NOTE);
  });

  it.each(Object.keys(files))('%s refers only to provisioned datasources, by their pinned uid', (file) => {
    const d = checkedIn(file);
    const refs = [
      ...d.panels.flatMap((p) => [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)]),
      ...(d.templating?.list ?? []).map((v) => v.datasource),
    ].filter((r) => r !== undefined);
    expect(refs.length).toBeGreaterThan(0);
    const known = new Map(provisioned.datasources.map((ds) => [ds.uid, ds.type]));
    for (const ref of refs) expect(known.get(ref.uid), JSON.stringify(ref)).toBe(ref.type);
  });

  it.each(Object.keys(files))('%s is structurally sound: unique ids, sane non-overlapping grid', (file) => {
    const panels = checkedIn(file).panels;
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const { gridPos: g, title } of panels) {
      expect(Number.isInteger(g.x) && Number.isInteger(g.y), title).toBe(true);
      expect(g.x >= 0 && g.y >= 0 && g.w >= 1 && g.h >= 1 && g.x + g.w <= 24, title).toBe(true);
    }
    for (const [i, a] of panels.entries()) {
      for (const b of panels.slice(i + 1)) {
        const overlap =
          a.gridPos.x < b.gridPos.x + b.gridPos.w &&
          b.gridPos.x < a.gridPos.x + a.gridPos.w &&
          a.gridPos.y < b.gridPos.y + b.gridPos.h &&
          b.gridPos.y < a.gridPos.y + a.gridPos.h;
        expect(overlap, `${a.title} overlaps ${b.title}`).toBe(false);
      }
    }
  });

  it('every CQL target is a catalogue query, and every market panel is on the market dashboard', () => {
    const market = checkedIn('market.json');
    const cql = market.panels.flatMap((p) =>
      (p.targets ?? []).filter((t) => t.rawQuery).map((t) => t.target),
    );
    expect([...cql].sort()).toEqual(MARKET_PANELS.map((p) => p.cql).sort());
    for (const q of cql) expect(cqlProblems(q!)).toEqual([]);
    expect(market.templating?.list).toEqual([
      expect.objectContaining({
        name: 'symbol',
        datasource: CASSANDRA_DS,
        query: { query: SYMBOL_VARIABLE.cql },
      }),
      expect.objectContaining({ name: 'resolution', type: 'custom', query: '1m,5m,15m,1h,1d' }),
    ]);
    const titles = market.panels.filter((p) => p.type !== 'row').map((p) => p.title);
    expect(titles.sort()).toEqual(MARKET_PANELS.map((p) => p.title).sort());
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax
    expect(market.panels.find((p) => p.title === 'Candles (${resolution}) with VWAP')?.type).toBe(
      'candlestick',
    );
  });

  it('the overview is one table joining the catalogue overview queries on the symbol, over all symbols', () => {
    const overview = checkedIn('market-overview.json');
    const [table] = overview.panels;
    expect(overview.panels).toHaveLength(1);
    expect(table!.type).toBe('table');
    expect((table!.targets ?? []).map((t) => t.target)).toEqual(OVERVIEW_QUERIES.map((q) => q.cql));
    for (const q of OVERVIEW_QUERIES) expect(cqlProblems(q.cql, q.clustering)).toEqual([]);
    const ids = (table as unknown as { transformations: { id: string }[] }).transformations.map((t) => t.id);
    expect(ids[0]).toBe('joinByField');
    expect(ids.at(-1)).toBe('sortBy');
    expect(overview.templating?.list).toEqual([
      expect.objectContaining({ name: 'symbols', multi: true, includeAll: true, datasource: CASSANDRA_DS }),
    ]);
  });

  it('every PromQL target is a catalogue query, on the Prometheus datasource', () => {
    const health = checkedIn('pipeline-health.json');
    const exprs = health.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect([...exprs].sort()).toEqual(HEALTH_PANELS.flatMap((p) => p.targets.map((t) => t.expr)).sort());
    for (const p of health.panels.filter((x) => x.type !== 'row'))
      expect(p.datasource).toEqual(PROMETHEUS_DS);
  });

  it('no dashboard holds a query the catalogue does not know', () => {
    const known = new Set([
      ...PANELS.flatMap((p) => (p.source === 'cassandra' ? [p.cql] : p.targets.map((t) => t.expr))),
      ...OVERVIEW_QUERIES.map((q) => q.cql),
    ]);
    for (const file of Object.keys(files)) {
      for (const t of checkedIn(file).panels.flatMap((p) => p.targets ?? [])) {
        expect(known.has((t.target ?? t.expr)!)).toBe(true);
      }
    }
  });
});

describe('provisioning', () => {
  it('pins the uids the dashboards use and takes the password from the environment', () => {
    const byUid = new Map(provisioned.datasources.map((d) => [d.uid, d]));
    expect(byUid.get(CASSANDRA_DS.uid)?.type).toBe(CASSANDRA_DS.type);
    expect(byUid.get(PROMETHEUS_DS.uid)?.type).toBe(PROMETHEUS_DS.type);
    const fromEnv = ['$', '{CASSANDRA_GRAFANA_PASSWORD}'].join('');
    expect(byUid.get(CASSANDRA_DS.uid)?.secureJsonData).toEqual({ password: fromEnv });
  });

  it('loads the dashboards from files, read-only', () => {
    const text = readFileSync(join(import.meta.dirname, 'provisioning/dashboards/dashboards.yaml'), 'utf8');
    const cfg = parse(text) as {
      providers: { type: string; allowUiUpdates: boolean; options: { path: string } }[];
    };
    expect(cfg.providers).toEqual([
      expect.objectContaining({
        type: 'file',
        allowUiUpdates: false,
        options: expect.objectContaining({ path: expect.any(String) }),
      }),
    ]);
  });
});
