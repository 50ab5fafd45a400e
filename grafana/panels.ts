import * as candlestick from '@grafana/grafana-foundation-sdk/candlestick';
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { CqlPanel, Panel, PromPanel } from '../shared/panels/index.ts';
import { CassandraQueryBuilder } from './cassandra-query.ts';
import { CASSANDRA_DS, PROMETHEUS_DS } from './datasources.ts';

/** One catalogue panel as an SDK panel builder; width and height come from the dashboard layout. */
export type PanelBuilder = Builder<dashboard.Panel> & {
  span(w: number): unknown;
  height(h: number): unknown;
  id(id: number): unknown;
};

const refIds = 'ABCDEFGHIJ';

function promTargets(p: PromPanel) {
  return p.targets.map((t, i) =>
    new DataqueryBuilder()
      .datasource({ ...PROMETHEUS_DS })
      .refId(refIds[i]!)
      .expr(t.expr)
      .legendFormat(t.legend)
      .range(),
  );
}

/** Column labels from the catalogue as display names (the first column, the series id, stays hidden). */
function labelOverrides(p: CqlPanel) {
  return p.columns
    .filter((c) => c.name !== p.timeColumn && c.name !== 'symbol')
    .map((c) => ({
      matcher: { id: 'byName', options: c.name },
      properties: [{ id: 'displayName', value: c.label }],
    }));
}

/** What every SDK panel builder offers; enough to configure them alike. */
interface CommonBuilder<B> {
  title(t: string): B;
  description(d: string): B;
  unit(u: string): B;
  datasource(d: common.DataSourceRef): B;
  withTarget(t: Builder<Dataquery>): B;
  withOverride(o: { matcher: dashboard.MatcherConfig; properties: dashboard.DynamicConfigValue[] }): B;
  decimals(d: number): B;
}

function withCql<B extends CommonBuilder<B>>(b: B, p: CqlPanel): B {
  b.title(p.title)
    .description(p.description)
    .unit(p.unit)
    .datasource({ ...CASSANDRA_DS });
  b.withTarget(new CassandraQueryBuilder(p.cql));
  for (const o of labelOverrides(p)) b.withOverride(o);
  if (p.decimals !== undefined) b.decimals(p.decimals);
  return b;
}

const legend = (show: boolean) =>
  new common.VizLegendOptionsBuilder()
    .showLegend(show)
    .displayMode(common.LegendDisplayMode.List)
    .placement(common.LegendPlacement.Bottom)
    .calcs([]);

function cqlPanel(p: CqlPanel): PanelBuilder {
  const base = <B extends CommonBuilder<B>>(b: B) => withCql(b, p);
  switch (p.viz) {
    case 'line':
    case 'bars':
      return base(new timeseries.PanelBuilder())
        .drawStyle(p.viz === 'bars' ? common.GraphDrawStyle.Bars : common.GraphDrawStyle.Line)
        .lineWidth(1)
        .fillOpacity(p.viz === 'bars' ? 80 : 0)
        .showPoints(common.VisibilityMode.Never)
        .legend(legend(false));
    case 'stat':
      return base(new stat.PanelBuilder())
        .reduceOptions(
          new common.ReduceDataOptionsBuilder()
            .calcs(['lastNotNull'])
            .fields(`/^${p.valueColumns[0]}$/`)
            .values(false),
        )
        .graphMode(common.BigValueGraphMode.None)
        .colorMode(common.BigValueColorMode.None)
        .textMode(common.BigValueTextMode.Value);
    case 'table':
      return base(new table.PanelBuilder())
        .withTransformation({ id: 'organize', options: { excludeByName: { symbol: true } } })
        .cellHeight(common.TableCellHeight.Sm)
        .showHeader(true);
    case 'candles':
      return base(new candlestick.PanelBuilder())
        .mode(candlestick.VizDisplayMode.CandlesVolume)
        .candleStyle(candlestick.CandleStyle.Candles)
        .colorStrategy(candlestick.ColorStrategy.OpenClose)
        .fields(
          new candlestick.CandlestickFieldMapBuilder()
            .open('open')
            .high('high')
            .low('low')
            .close('close')
            .volume('volume'),
        )
        .includeAllFields(true)
        .legend(legend(true));
  }
}

function promPanel(p: PromPanel): PanelBuilder {
  const b = new timeseries.PanelBuilder()
    .title(p.title)
    .description(p.description)
    .unit(p.unit)
    .datasource({ ...PROMETHEUS_DS })
    .lineWidth(1)
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never)
    .legend(legend(true));
  for (const t of promTargets(p)) b.withTarget(t);
  if (p.decimals !== undefined) b.decimals(p.decimals);
  return b;
}

export const panelBuilder = (p: Panel): PanelBuilder =>
  p.source === 'cassandra' ? cqlPanel(p) : promPanel(p);
