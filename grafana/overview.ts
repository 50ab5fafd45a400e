import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as table from '@grafana/grafana-foundation-sdk/table';
import { OVERVIEW_QUERIES } from '../shared/panels/overview.ts';
import { CassandraQueryBuilder } from './cassandra-query.ts';
import { CASSANDRA_DS } from './datasources.ts';

/**
 * The overview table: one target per catalogue overview query, joined on the symbol by Grafana, with the
 * changes computed as last / close − 1 (the viewer's joinOverview computes the same), most turnover first.
 */
const HIDDEN = ['minute_1h', 'close_1h', 'minute_24h', 'close_24h', 'ratio_1h', 'ratio_24h'];
const LABELS: Record<string, string> = {
  symbol: 'Symbol',
  last_price: 'Last price',
  change_1h: 'Change 1 h',
  change_24h: 'Change 24 h',
  trades_1h: 'Trades 1 h',
  volume_1h: 'Volume 1 h',
  turnover_1h: 'Turnover 1 h',
  last_trade_time: 'Last trade',
};
const UNITS: Record<string, [string, number | undefined]> = {
  last_price: ['currencyUSD', 2],
  change_1h: ['percentunit', 2],
  change_24h: ['percentunit', 2],
  trades_1h: ['short', 0],
  volume_1h: ['short', 2],
  turnover_1h: ['currencyUSD', 0],
  last_trade_time: ['dateTimeFromNow', undefined],
};

const binary = (alias: string, left: string, operator: string, right: string) => ({
  id: 'calculateField',
  options: { mode: 'binary', alias, binary: { left, operator, right }, replaceFields: false },
});

export function overviewPanel(): table.PanelBuilder {
  const b = new table.PanelBuilder()
    .title('Markets')
    .description(
      'Every subscribed symbol (the symbols variable, all by default). Change = last price / close of the ' +
        'minute holding now − 1 h (or 24 h) − 1. Trades, volume and turnover: the minutes that began in the ' +
        'last hour (live counters). Sorted by turnover, the most active market first.',
    )
    .datasource({ ...CASSANDRA_DS })
    .cellHeight(common.TableCellHeight.Sm)
    .showHeader(true);
  OVERVIEW_QUERIES.forEach((q, i) => {
    b.withTarget(new CassandraQueryBuilder(q.cql, 'ABCD'[i]));
  });
  b.withTransformation({ id: 'joinByField', options: { byField: 'symbol', mode: 'outer' } });
  b.withTransformation(binary('ratio_1h', 'last_price', '/', 'close_1h'));
  b.withTransformation(binary('change_1h', 'ratio_1h', '-', '1'));
  b.withTransformation(binary('ratio_24h', 'last_price', '/', 'close_24h'));
  b.withTransformation(binary('change_24h', 'ratio_24h', '-', '1'));
  b.withTransformation({
    id: 'organize',
    options: {
      excludeByName: Object.fromEntries(HIDDEN.map((h) => [h, true])),
      indexByName: Object.fromEntries(Object.keys(LABELS).map((k, i) => [k, i])),
      renameByName: LABELS,
    },
  });
  b.withTransformation({ id: 'sortBy', options: { sort: [{ field: 'Turnover 1 h', desc: true }] } });
  for (const [field, [unit, decimals]] of Object.entries(UNITS)) {
    const properties: dashboard.DynamicConfigValue[] = [{ id: 'unit', value: unit }];
    if (decimals !== undefined) properties.push({ id: 'decimals', value: decimals });
    b.withOverride({ matcher: { id: 'byName', options: LABELS[field]! }, properties });
  }
  return b;
}
