import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import { CASSANDRA_DS } from './datasources.ts';

/**
 * A raw-CQL target of the HadesArchitect Cassandra datasource, as the plugin stores it in dashboard JSON
 * (src/models.ts of the plugin: `rawQuery`, `target`, `queryType`). The SDK ships no builder for
 * third-party datasources, so this is its documented extension point: a Dataquery variant plus a builder.
 */
export interface CassandraQuery extends Dataquery {
  refId: string;
  datasource: { type: string; uid: string };
  queryType: 'query';
  rawQuery: true;
  target: string;
}

export class CassandraQueryBuilder implements Builder<Dataquery> {
  private readonly internal: CassandraQuery;

  constructor(cql: string, refId = 'A') {
    this.internal = {
      refId,
      datasource: { ...CASSANDRA_DS },
      queryType: 'query',
      rawQuery: true,
      target: cql,
      _implementsDataqueryVariant() {},
    };
  }

  build(): CassandraQuery {
    return this.internal;
  }
}
