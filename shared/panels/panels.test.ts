import { describe, expect, it } from 'vitest';
import { parsePromql, promqlMetricNames } from '../../test/promql.ts';
import { METRICS } from '../observability/catalogue.ts';
import { EXTERNAL_METRICS } from '../observability/external-metrics.ts';
import {
  cqlPanel,
  cqlProblems,
  HEALTH_DASHBOARD,
  HEALTH_PANELS,
  MARKET_DASHBOARD,
  MARKET_PANELS,
  OVERVIEW_QUERIES,
  PANELS,
  type PromPanel,
  RESOLUTION_VARIABLE,
  renderCql,
  SYMBOL,
  SYMBOL_VARIABLE,
  SYMBOLS,
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
    expect(cqlProblems('SELECT * FROM price_seconds')).toEqual(
      expect.arrayContaining([
        'must restrict the partition key of price_seconds',
        'must be bounded by LIMIT or by $__timeFrom/$__timeTo on the clustering column',
      ]),
    );
    expect(cqlProblems('SELECT * FROM price_seconds WHERE price > 1 ALLOW FILTERING')).toContain(
      'must not use ALLOW FILTERING',
    );
    expect(cqlProblems(`DELETE FROM price_seconds WHERE symbol = ${SYMBOL}`)).toContain('must be a SELECT');
    // The day partition must come from the range end, not be left to the symbol alone.
    expect(cqlProblems(`SELECT * FROM price_seconds WHERE symbol = ${SYMBOL} LIMIT 1`)).toContain(
      'must restrict the partition key of price_seconds',
    );
    expect(cqlProblems('SELECT count(*) FROM trades_10s LIMIT 1')).toContain(
      'reads an unknown table trades_10s',
    );
    expect(cqlProblems('SELECT count(*) FROM ticks LIMIT 1')).toContain('reads an unknown table ticks');
  });

  it('takes IN only over the symbols variable, each partition bounded', () => {
    const inOther = "SELECT symbol, price FROM ticks WHERE symbol IN ('a', 'b') PER PARTITION LIMIT 1";
    expect(cqlProblems(inOther)).toContain(
      'must not use IN except over the symbols variable (one slice per listed symbol)',
    );
    const unbounded = `SELECT symbol, price FROM ticks WHERE symbol IN (${SYMBOLS}) LIMIT 10`;
    expect(cqlProblems(unbounded, 'trade_time')).toContain(
      'must be bounded by LIMIT or by $__timeFrom/$__timeTo on the clustering column',
    );
    for (const q of OVERVIEW_QUERIES) expect(cqlProblems(q.cql, q.clustering), q.id).toEqual([]);
  });

  it('the candle panels read the table the resolution names', () => {
    for (const r of RESOLUTION_VARIABLE.values) {
      const cql = renderCql(cqlPanel('candles').cql, { symbol: 'X', fromMs: 0, toMs: 1, resolution: r });
      expect(cql).toContain(`FROM candles_${r} WHERE symbol = 'X'`);
    }
    expect(() =>
      renderCql(cqlPanel('candles').cql, { symbol: 'X', fromMs: 0, toMs: 1, resolution: 'x; DROP' as '1m' }),
    ).toThrow(/unknown resolution/);
    expect(
      renderCql(OVERVIEW_QUERIES[0].cql, { symbol: '', symbols: ["A'B", 'C'], fromMs: 0, toMs: 1 }),
    ).toContain("symbol IN ('A''B', 'C')");
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

  it('health panels name exactly the metrics they declare, from the catalogue or the external list', () => {
    for (const p of HEALTH_PANELS as readonly PromPanel[]) {
      for (const t of p.targets) expect(parsePromql(t.expr).errors, t.expr).toEqual([]);
      const used = new Set(p.targets.flatMap((t) => promqlMetricNames(t.expr)));
      const declared = [
        ...p.metrics.map((k) => METRICS[k].name),
        ...(p.external ?? []).map((k) => EXTERNAL_METRICS[k].name),
      ];
      expect(used.size, p.id).toBeGreaterThan(0);
      expect([...used].sort(), p.id).toEqual([...new Set(declared)].sort());
      // The viewer's local reduction reads a catalogue metric of the local stack.
      if (p.local && 'metric' in p.local) expect(METRICS[p.local.metric]).toBeDefined();
    }
  });

  it('no Grafana query reads a metric only the local stack emits (dispatcher, viewer, replay feed)', () => {
    const localOnly = new Set(
      Object.values(METRICS)
        .filter((m) => ['dispatcher', 'viewer', 'feed'].includes(m.component))
        .map((m) => m.name),
    );
    const offenders = (HEALTH_PANELS as readonly PromPanel[]).flatMap((p) =>
      p.targets.flatMap((t) => promqlMetricNames(t.expr).filter((n) => localOnly.has(n))),
    );
    expect(offenders).toEqual([]);
  });

  it("charts the bridge's coalescing window, which moves with the trade rate, on the health dashboard and in the viewer", () => {
    const p = (HEALTH_PANELS as readonly PromPanel[]).find((x) => x.metrics.includes('bridgeCoalesceWindow'));
    expect(p?.targets.flatMap((t) => promqlMetricNames(t.expr))).toContain(METRICS.bridgeCoalesceWindow.name);
    expect(p?.local).toEqual({ kind: 'sum', metric: 'bridgeCoalesceWindow' });
    expect(HEALTH_DASHBOARD.rows.flatMap((r) => r.panels.map((x) => x.panel))).toContain(p?.id);
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
