import { candleTable, RESOLUTIONS, type Resolution } from '../market/rollup.ts';

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
/** Every symbol of the overview: a multi-value variable, rendered as a comma-separated list of literals. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
export const SYMBOLS = '${symbols:sqlstring}';
/** The candle resolution (1m, 5m, 15m, 1h, 1d): a custom variable naming the table `candles_<resolution>`. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
export const RESOLUTION = '${resolution}';
export const TIME_FROM = '$__timeFrom';
export const TIME_TO = '$__timeTo';

export interface CqlVars {
  readonly symbol: string;
  /** The overview's symbols (default: `[symbol]`). */
  readonly symbols?: readonly string[];
  /** The candle resolution (default 1m). */
  readonly resolution?: Resolution;
  readonly fromMs: number;
  readonly toMs: number;
}

/** Grafana's `sqlstring` format for one value. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

const PLACEHOLDER =
  /\$\{symbol:sqlstring\}|\$\{symbols:sqlstring\}|\$\{resolution\}|\$__timeFrom|\$__timeTo/g;

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
  const resolution = vars.resolution ?? '1m';
  if (!RESOLUTIONS.includes(resolution)) throw new Error(`unknown resolution ${resolution}`);
  const symbols = vars.symbols ?? [vars.symbol];
  if (symbols.length === 0) throw new Error('the overview needs at least one symbol');
  return cql.replace(PLACEHOLDER, (p) => {
    if (p === TIME_FROM) return String(vars.fromMs);
    if (p === TIME_TO) return String(vars.toMs);
    if (p === RESOLUTION) return resolution;
    if (p === SYMBOLS) return symbols.map(sqlString).join(', ');
    return sqlString(vars.symbol);
  });
}

/** One partition (the symbol variable) or the overview's list of them (`IN`, see cqlProblems). */
const BY_SYMBOL = /\bsymbol (= \$\{symbol:sqlstring\}|IN \(\$\{symbols:sqlstring\}\))/;

/** Tables a dashboard may read, with their partition-key restriction. */
const PARTITION_RESTRICTION: Readonly<Record<string, RegExp>> = {
  // The day partition of the range end (PRICE_DAY): one partition per symbol, never a guessed list.
  price_seconds: new RegExp(`${BY_SYMBOL.source} AND day = floor\\(\\(timestamp\\)\\$__timeTo, 1d\\)`),
  minute_live: BY_SYMBOL,
  ...Object.fromEntries(RESOLUTIONS.map((r) => [candleTable(r), BY_SYMBOL])),
  [`candles_${RESOLUTION}`]: BY_SYMBOL,
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
  const table = /\bFROM\s+([a-z_0-9]+(?:\$\{resolution\})?)/i.exec(text)?.[1];
  const restriction = table ? PARTITION_RESTRICTION[table] : undefined;
  if (!restriction) problems.push(`reads an unknown table ${table ?? '(none)'}`);
  else if (!restriction.test(text)) problems.push(`must restrict the partition key of ${table}`);
  // The overview reads each listed symbol's partition once: `IN` only over the symbols variable, and
  // every partition bounded by PER PARTITION LIMIT or a time slice.
  const inList = text.match(/\bIN\s*\([^)]*\)/gi) ?? [];
  if (inList.some((x) => x !== `IN (${SYMBOLS})`))
    problems.push('must not use IN except over the symbols variable (one slice per listed symbol)');
  const limited = inList.length
    ? /\bPER PARTITION LIMIT \d+\b/.test(text)
    : /\b(PER PARTITION )?LIMIT \d+\b/.test(text);
  const ranged =
    clustering !== undefined &&
    ((text.includes(`${clustering} >= ${TIME_FROM}`) && text.includes(`${clustering} <= ${TIME_TO}`)) ||
      new RegExp(`${clustering} > \\$__timeTo - \\d+[mhd] AND ${clustering} <= \\$__timeTo`).test(text));
  if (!limited && !ranged && table !== 'symbols') {
    problems.push('must be bounded by LIMIT or by $__timeFrom/$__timeTo on the clustering column');
  }
  return problems;
}
