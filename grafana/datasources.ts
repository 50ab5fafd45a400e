/**
 * The datasources the dashboards use, with the uids pinned in provisioning/datasources/datasources.yaml
 * (a test keeps both in step): a dashboard never refers to a datasource by a uid Grafana made up.
 */
export const CASSANDRA_DS = { type: 'hadesarchitect-cassandra-datasource', uid: 'cassandra-market' } as const;
export const PROMETHEUS_DS = { type: 'prometheus', uid: 'prometheus-market' } as const;
