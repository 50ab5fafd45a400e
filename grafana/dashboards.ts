import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  type DashboardLayout,
  HEALTH_DASHBOARD,
  MARKET_DASHBOARD,
  panel,
  SYMBOL_VARIABLE,
} from '../shared/panels/index.ts';
import { CASSANDRA_DS } from './datasources.ts';
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

function build(layout: DashboardLayout, withSymbol: boolean): dashboard.Dashboard {
  const b = new dashboard.DashboardBuilder(layout.title)
    .uid(layout.uid)
    .description(`${layout.description} ${GENERATED_NOTE}`)
    .tags([...layout.tags, 'generated'])
    .refresh(layout.refresh)
    .time({ from: layout.timeFrom, to: 'now' })
    .timezone('browser')
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair);
  if (withSymbol) b.withVariable(symbolVariable());
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
  };
}

/** The file text: stable key order from the builders, two-space indent, trailing newline. */
export const dashboardJson = (d: dashboard.Dashboard): string => `${JSON.stringify(d, null, 2)}\n`;
