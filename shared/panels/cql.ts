/**
 * The placeholders the Grafana Cassandra datasource understands in raw CQL, and a renderer that substitutes
 * them the way Grafana does, so the viewer and the tests run exactly the text a dashboard runs.
 *
 * - `${symbol:sqlstring}`: Grafana's `sqlstring` variable format quotes the value and doubles every `'`,
 *   which is also CQL's string-literal escape; a symbol can never break out of its literal.
 * - `$__timeFrom` / `$__timeTo`: the datasource puts the dashboard range in as epoch-millisecond integers,
 *   which CQL accepts for `timestamp` columns.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
export const SYMBOL = '${symbol:sqlstring}';
export const TIME_FROM = '$__timeFrom';
export const TIME_TO = '$__timeTo';

export interface CqlVars {
  readonly symbol: string;
  readonly fromMs: number;
  readonly toMs: number;
}

/** Grafana's `sqlstring` format for one value. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

const PLACEHOLDER = /\$\{symbol:sqlstring\}|\$__timeFrom|\$__timeTo/g;

/** The CQL for concrete values; throws on a placeholder it does not know or a non-integer time. */
export function renderCql(cql: string, vars: CqlVars): string {
  const leftover = cql.replace(PLACEHOLDER, '').match(/\$\{?[A-Za-z_]+/);
  if (leftover) throw new Error(`unknown placeholder ${leftover[0]} in CQL: ${cql}`);
  for (const [name, v] of [
    ['fromMs', vars.fromMs],
    ['toMs', vars.toMs],
  ] as const) {
    if (!Number.isSafeInteger(v)) throw new Error(`${name} must be an integer of epoch milliseconds`);
  }
  return cql.replace(PLACEHOLDER, (p) =>
    p === TIME_FROM ? String(vars.fromMs) : p === TIME_TO ? String(vars.toMs) : sqlString(vars.symbol),
  );
}

/** Tables a dashboard may read, with their partition-key restriction. */
const PARTITION_RESTRICTION: Readonly<Record<string, RegExp>> = {
  ticks: /\bsymbol = \$\{symbol:sqlstring\}/,
  minute_live: /\bsymbol = \$\{symbol:sqlstring\}/,
  candles_1m: /\bsymbol = \$\{symbol:sqlstring\}/,
  symbols: /\bshard = 0\b/,
};

/**
 * The datasource rules and the cost rules every catalogue query must keep, checked on the text:
 * one SELECT, no ALLOW FILTERING, one partition, and a bound (time range on the clustering column, or LIMIT).
 * Returns the problems found (empty when the query is fine). Cassandra itself confirms the rest in the
 * integration test (it refuses a query that would need ALLOW FILTERING).
 */
export function cqlProblems(cql: string, clustering?: string): string[] {
  const problems: string[] = [];
  const text = cql.trim();
  if (!/^SELECT\s/i.test(text)) problems.push('must be a SELECT');
  if (text.includes(';')) problems.push('must be one statement without a semicolon');
  if (/ALLOW\s+FILTERING/i.test(text)) problems.push('must not use ALLOW FILTERING');
  const table = /\bFROM\s+([a-z_0-9]+)/i.exec(text)?.[1];
  const restriction = table ? PARTITION_RESTRICTION[table] : undefined;
  if (!restriction) problems.push(`reads an unknown table ${table ?? '(none)'}`);
  else if (!restriction.test(text)) problems.push(`must restrict the partition key of ${table}`);
  if (/\bIN\s*\(/i.test(text)) problems.push('must not use IN (one partition per query)');
  const limited = /\b(PER PARTITION )?LIMIT \d+\b/.test(text);
  const ranged =
    clustering !== undefined &&
    text.includes(`${clustering} >= ${TIME_FROM}`) &&
    text.includes(`${clustering} <= ${TIME_TO}`);
  if (!limited && !ranged && table !== 'symbols') {
    problems.push('must be bounded by LIMIT or by $__timeFrom/$__timeTo on the clustering column');
  }
  return problems;
}
