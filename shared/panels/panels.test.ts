import { describe, expect, it } from 'vitest';
import { METRICS } from '../observability/catalogue.ts';
import {
  cqlProblems,
  HEALTH_DASHBOARD,
  HEALTH_PANELS,
  MARKET_DASHBOARD,
  MARKET_PANELS,
  PANELS,
  type PromPanel,
  renderCql,
  SYMBOL,
  SYMBOL_VARIABLE,
  sqlString,
} from './index.ts';

const vars = { symbol: 'BINANCE:BTCUSDT', fromMs: 1_700_000_000_000, toMs: 1_700_000_900_000 };

describe('renderCql', () => {
  it('substitutes the symbol as a quoted literal and the range as epoch milliseconds', () => {
    const cql = `SELECT a FROM t WHERE symbol = ${SYMBOL} AND m >= $__timeFrom AND m <= $__timeTo`;
    expect(renderCql(cql, vars)).toBe(
      "SELECT a FROM t WHERE symbol = 'BINANCE:BTCUSDT' AND m >= 1700000000000 AND m <= 1700000900000",
    );
  });

  it("doubles quotes the way Grafana's sqlstring format does, so a symbol stays one literal", () => {
    expect(sqlString("O'Hare")).toBe("'O''Hare'");
    const out = renderCql(`SELECT a FROM t WHERE symbol = ${SYMBOL}`, {
      ...vars,
      symbol: "x' OR symbol = 'y",
    });
    expect(out).toBe("SELECT a FROM t WHERE symbol = 'x'' OR symbol = ''y'");
  });

  it('leaves a symbol that looks like a placeholder alone', () => {
    const out = renderCql(`SELECT a FROM t WHERE symbol = ${SYMBOL} AND m <= $__timeTo`, {
      ...vars,
      symbol: '$__timeTo',
    });
    expect(out).toBe("SELECT a FROM t WHERE symbol = '$__timeTo' AND m <= 1700000900000");
  });

  it('refuses unknown placeholders and non-integer times', () => {
    expect(() => renderCql('SELECT a FROM t WHERE symbol = $symbol', vars)).toThrow(/unknown placeholder/);
    expect(() => renderCql('SELECT a FROM t WHERE m >= $__timeFrom', { ...vars, fromMs: 1.5 })).toThrow(
      /integer/,
    );
  });
});

describe('cqlProblems', () => {
  it('flags what the datasource or the cluster would suffer from', () => {
    expect(cqlProblems('SELECT * FROM ticks')).toEqual(
      expect.arrayContaining([
        'must restrict the partition key of ticks',
        'must be bounded by LIMIT or by $__timeFrom/$__timeTo on the clustering column',
      ]),
    );
    expect(cqlProblems('SELECT * FROM ticks WHERE price > 1 ALLOW FILTERING')).toContain(
      'must not use ALLOW FILTERING',
    );
    expect(cqlProblems(`DELETE FROM ticks WHERE symbol = ${SYMBOL}`)).toContain('must be a SELECT');
    expect(cqlProblems('SELECT count(*) FROM trades LIMIT 1')).toContain('reads an unknown table trades');
  });
});

describe('the catalogue', () => {
  it.each(MARKET_PANELS.map((p) => [p.id, p] as const))(
    '%s: bounded, one partition, no filtering',
    (_id, p) => {
      expect(cqlProblems(p.cql, p.timeColumn)).toEqual([]);
      expect(p.columns[0]?.name).toBe('symbol');
      expect(p.columns.map((c) => c.name)).toContain(p.timeColumn);
      for (const v of p.valueColumns) expect(p.columns.map((c) => c.name)).toContain(v);
      const selected = /^SELECT (.*) FROM /.exec(p.cql)?.[1] ?? '';
      const names = selected.split(',').map((s) =>
        s
          .trim()
          .split(/\s+AS\s+/i)
          .pop(),
      );
      expect(names).toEqual(p.columns.map((c) => c.name));
    },
  );

  it('symbol variable reads one partition', () => {
    expect(cqlProblems(SYMBOL_VARIABLE.cql)).toEqual([]);
  });

  it('panel ids are unique', () => {
    expect(new Set(PANELS.map((p) => p.id)).size).toBe(PANELS.length);
  });

  it('health panels only name metrics of the metrics catalogue', () => {
    const names = new Set(Object.values(METRICS).map((m) => m.name));
    for (const p of HEALTH_PANELS as readonly PromPanel[]) {
      const used = p.targets.flatMap((t) => t.expr.match(/\bmp_[a-z0-9_]+/g) ?? []);
      expect(used.length).toBeGreaterThan(0);
      for (const u of used) expect(names.has(u.replace(/_bucket$/, ''))).toBe(true);
      for (const key of p.metrics)
        expect(p.targets.some((t) => t.expr.includes(METRICS[key].name))).toBe(true);
      if (p.local && 'metric' in p.local) expect(p.metrics).toContain(p.local.metric);
    }
  });

  it('every panel sits on exactly one dashboard, in a valid grid', () => {
    const placed = [MARKET_DASHBOARD, HEALTH_DASHBOARD].flatMap((d) =>
      d.rows.flatMap((r) => r.panels.map((x) => x.panel)),
    );
    expect([...placed].sort()).toEqual(PANELS.map((p) => p.id).sort());
    for (const d of [MARKET_DASHBOARD, HEALTH_DASHBOARD]) {
      for (const r of d.rows) for (const x of r.panels) expect(x.w).toBeGreaterThan(0);
      for (const r of d.rows) for (const x of r.panels) expect(x.w).toBeLessThanOrEqual(24);
    }
  });
});
