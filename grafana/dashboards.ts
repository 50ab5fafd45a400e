import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  type DashboardLayout,
  HEALTH_DASHBOARD,
  MARKET_DASHBOARD,
  OVERVIEW_DASHBOARD,
  panel,
  RESOLUTION_VARIABLE,
  SYMBOL_VARIABLE,
} from '../shared/panels/index.ts';
import { CASSANDRA_DS } from './datasources.ts';
import { overviewPanel } from './overview.ts';
import { panelBuilder } from './panels.ts';

export const GENERATED_NOTE =
  'GENERATED from shared/panels by `npm run grafana:generate` — do not edit; change the panel catalogue instead.';

/** The symbol selector: a query variable of the Cassandra datasource (the plugin's `{ query }` model). */
function symbolVariable() {
  return new dashboard.QueryVariableBuilder(SYMBOL_VARIABLE.name)
    .label(SYMBOL_VARIABLE.label)
    .datasource({ ...CASSANDRA_DS })
    .query({ query: SYMBOL_VARIABLE.cql })
    .definition(SYMBOL_VARIABLE.cql)
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .allowCustomValue(false)
    .multi(false)
    .includeAll(false);
}

/** The resolution selector: a custom variable whose value names the candle table (candles_<value>). */
function resolutionVariable() {
  const option = (v: string) => ({ text: v, value: v, selected: v === RESOLUTION_VARIABLE.default });
  return new dashboard.CustomVariableBuilder(RESOLUTION_VARIABLE.name)
    .label(RESOLUTION_VARIABLE.label)
    .values(RESOLUTION_VARIABLE.values.join(','))
    .current(option(RESOLUTION_VARIABLE.default))
    .options(RESOLUTION_VARIABLE.values.map(option))
    .multi(false)
    .includeAll(false)
    .allowCustomValue(false);
}

/** The overview's symbols: every symbol by default (`All`), expanded by `${symbols:sqlstring}` into a list. */
function symbolsVariable() {
  return new dashboard.QueryVariableBuilder('symbols')
    .label('Symbols')
    .datasource({ ...CASSANDRA_DS })
    .query({ query: SYMBOL_VARIABLE.cql })
    .definition(SYMBOL_VARIABLE.cql)
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .current({ text: 'All', value: '$__all', selected: true })
    .allowCustomValue(false)
    .multi(true)
    .includeAll(true);
}

function header(layout: Omit<DashboardLayout, 'rows'>) {
  return new dashboard.DashboardBuilder(layout.title)
    .uid(layout.uid)
    .description(`${layout.description} ${GENERATED_NOTE}`)
    .tags([...layout.tags, 'generated'])
    .refresh(layout.refresh)
    .time({ from: layout.timeFrom, to: 'now' })
    .timezone('browser')
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair);
}

function build(layout: DashboardLayout, withSymbol: boolean): dashboard.Dashboard {
  const b = header(layout);
  if (withSymbol) b.withVariable(symbolVariable()).withVariable(resolutionVariable());
  let id = 1;
  for (const row of layout.rows) {
    b.withRow(new dashboard.RowBuilder(row.title).id(id++));
    for (const place of row.panels) {
      const p = panelBuilder(panel(place.panel));
      p.id(id++);
      p.span(place.w);
      p.height(place.h);
      b.withPanel(p);
    }
  }
  return b.build();
}

/** Every generated dashboard, by file name under grafana/dashboards/. */
export function generateDashboards(): Record<string, dashboard.Dashboard> {
  return {
    'market.json': build(MARKET_DASHBOARD, true),
    'pipeline-health.json': build(HEALTH_DASHBOARD, false),
    'market-overview.json': header(OVERVIEW_DASHBOARD)
      .withVariable(symbolsVariable())
      .withPanel(overviewPanel().id(1).span(24).height(16))
      .build(),
  };
}

/** The file text: stable key order from the builders, two-space indent, trailing newline. */
export const dashboardJson = (d: dashboard.Dashboard): string => `${JSON.stringify(d, null, 2)}\n`;
