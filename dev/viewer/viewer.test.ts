import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configTable } from '../../shared/config/env.ts';
import { viewerSpec } from './config.ts';
import { histogramQuantile, reduce, type Snapshot } from './health.ts';
import { parsePromText } from './prom-text.ts';

const TEXT = `# HELP mp_function_trades_total Trades
# TYPE mp_function_trades_total counter
mp_function_trades_total{function="trade-writer",service="tw"} 30
mp_function_trades_total{function="minute-window",service="mw"} 7
mp_pipeline_latency_seconds_bucket{le="0.01",function="trade-writer"} 5
mp_pipeline_latency_seconds_bucket{le="0.1",function="trade-writer"} 9
mp_pipeline_latency_seconds_bucket{le="+Inf",function="trade-writer"} 10
mp_last_trade_timestamp_seconds{symbol="A \\"quoted\\""} 1700000000.5
not a sample line
`;

const snap = (atMs: number, text: string): Snapshot => ({
  atMs,
  byTarget: new Map([['t', parsePromText(text)]]),
});

describe('prometheus text parsing', () => {
  it('reads names, escaped labels and values, skipping comments and junk', () => {
    const s = parsePromText(TEXT);
    expect(s).toHaveLength(6);
    expect(s[0]).toEqual({
      name: 'mp_function_trades_total',
      labels: { function: 'trade-writer', service: 'tw' },
      value: 30,
    });
    expect(s[5]).toEqual({
      name: 'mp_last_trade_timestamp_seconds',
      labels: { symbol: 'A "quoted"' },
      value: 1700000000.5,
    });
  });
});

describe('health reductions', () => {
  it('histogram quantiles interpolate inside the bucket like histogram_quantile', () => {
    const b = new Map([
      [0.01, 5],
      [0.1, 9],
      [Number.POSITIVE_INFINITY, 10],
    ]);
    expect(histogramQuantile(0.5, b)).toBeCloseTo(0.01, 9);
    expect(histogramQuantile(0.7, b)).toBeCloseTo(0.01 + 0.09 * (2 / 4), 9);
    expect(histogramQuantile(0.99, b)).toBe(0.1); // in +Inf: the highest finite bound
    expect(histogramQuantile(0.5, new Map())).toBeNull();
  });

  it('rates need two scrapes and count only the matching series', () => {
    const r = { kind: 'rate', metric: 'functionTrades', match: { function: 'trade-writer' } } as const;
    const a = snap(1000, TEXT);
    const b = snap(3000, TEXT.replace('service="tw"} 30', 'service="tw"} 50'));
    expect(reduce(r, a, undefined, 1000)[0]!.value).toBeNull();
    expect(reduce(r, b, a, 3000)[0]!.value).toBe(10);
  });

  it('an absent metric is null, not zero; a timestamp gauge becomes an age', () => {
    const s = snap(0, TEXT);
    expect(reduce({ kind: 'sum', metric: 'dispatcherDeadLetters' }, s, undefined, 0)[0]!.value).toBeNull();
    expect(reduce({ kind: 'sum', metric: 'functionTrades' }, s, undefined, 0)[0]!.value).toBe(37);
    expect(reduce({ kind: 'age', metric: 'lastTradeTime' }, s, undefined, 1_700_000_010_500)[0]!.value).toBe(
      10,
    );
  });

  it('latency quantiles use the observations between scrapes when there are any', () => {
    const q = { kind: 'quantiles', metric: 'pipelineLatency', quantiles: [0.5] } as const;
    const a = snap(0, TEXT);
    const later = TEXT.replace(
      'le="0.1",function="trade-writer"} 9',
      'le="0.1",function="trade-writer"} 19',
    ).replace('le="+Inf",function="trade-writer"} 10', 'le="+Inf",function="trade-writer"} 20');
    expect(reduce(q, a, undefined, 0)[0]!.value).toBeCloseTo(0.01, 9);
    expect(reduce(q, snap(1, later), a, 1)[0]!.value).toBeCloseTo(0.01 + 0.09 * 0.5, 9);
  });
});

describe('README', () => {
  it('documents every setting', () => {
    expect(readFileSync(join(import.meta.dirname, 'README.md'), 'utf8')).toContain(configTable(viewerSpec));
  });
});
