import { describe, expect, it } from 'vitest';
import { parsePromText } from '../dev/viewer/prom-text.ts';
import { createRegistry, registerMetrics } from '../shared/observability/metrics.ts';
import { type EventLatency, latencyByEventSize, stageQuantiles } from './latency.ts';

describe('stageQuantiles over the catalogue latency histograms', () => {
  // The bench reads receive -> counter from minute-window's histogram: near the goals (50 and 250 ms) its p99
  // must be a measurement, not an interpolation across a bucket hundreds of ms wide.
  it.each([45, 55, 60, 260, 450])('a p99 of %i ms is read to within 15 percent', async (ms) => {
    const slowS = ms / 1000;
    const registry = createRegistry();
    const { pipelineLatency } = registerMetrics(registry, ['pipelineLatency']);
    const scrape = async () => ({ 'minute-window': parsePromText(await registry.metrics()) });
    const before = await scrape();
    for (let i = 0; i < 985; i++) pipelineLatency.observe({ function: 'minute-window' }, 0.02);
    for (let i = 0; i < 15; i++) pipelineLatency.observe({ function: 'minute-window' }, slowS);
    const p99 = stageQuantiles(before, await scrape())['receive -> minute-window done']!.p99;
    expect(Math.abs(p99 - ms) / ms).toBeLessThan(0.15);
  });
});

describe('latencyByEventSize', () => {
  it('puts each row in the class of the event that carried it, and counts rows over the goal', () => {
    const rows: EventLatency[] = [];
    for (let e = 0; e < 90; e++) for (let i = 0; i < 10; i++) rows.push({ event: `small-${e}`, ms: 30 });
    for (let i = 0; i < 300; i++) rows.push({ event: 'burst', ms: 80 });
    const [small, mid, big] = latencyByEventSize(rows, 50);
    expect(small).toMatchObject({
      tradesPerEvent: '1-20',
      events: 90,
      rows: 900,
      p50: 30,
      p99: 30,
      over50ms: 0,
    });
    expect(mid).toMatchObject({ tradesPerEvent: '21-100', events: 0, rows: 0, p50: null, p99: null });
    expect(big).toMatchObject({
      tradesPerEvent: '>100',
      events: 1,
      rows: 300,
      rowShare: 0.25,
      over50ms: 300,
    });
  });

  it('the class bounds are inclusive', () => {
    const rows = Array.from({ length: 20 }, () => ({ event: 'a', ms: 1 }));
    rows.push(...Array.from({ length: 21 }, () => ({ event: 'b', ms: 2 })));
    const [first, second] = latencyByEventSize(rows, 50);
    expect(first!.rows).toBe(20);
    expect(second!.rows).toBe(21);
  });
});
