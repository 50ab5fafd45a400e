import type cassandra from 'cassandra-driver';
import { allRows } from '../cassandra/client.ts';
import { type CqlVars, renderCql } from './cql.ts';
import type { CqlPanel } from './types.ts';

export type Cell = string | number | null;

/** A panel's result as plain JSON: the columns Cassandra returned and the rows in its order. */
export interface PanelResult {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
}

/** Timestamps become epoch milliseconds and 64-bit integers (bigint, counter) numbers, as Grafana reads them. */
export function cell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'toNumber' in value) {
    return (value as { toNumber(): number }).toNumber();
  }
  return String(value);
}

/**
 * Runs a CQL text (a rendered catalogue query) and returns every row, paging as the datasource does.
 * Not prepared: the literals change with every time range, and preparing would only fill the statement cache.
 */
export async function runCql(client: cassandra.Client, cql: string): Promise<PanelResult> {
  const r = await allRows(client, cql, [], { prepare: false, isIdempotent: true });
  const columns = [...r.columns];
  const rows = r.rows.map((row) => columns.map((c) => cell(row[c])));
  return { columns, rows };
}

/** Renders a catalogue panel's CQL for concrete values and runs it. */
export function runPanel(client: cassandra.Client, panel: CqlPanel, vars: CqlVars): Promise<PanelResult> {
  return runCql(client, renderCql(panel.cql, vars));
}
