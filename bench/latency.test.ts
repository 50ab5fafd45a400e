import { describe, expect, it } from 'vitest';
import { parsePromText } from '../dev/viewer/prom-text.ts';
import { createRegistry, registerMetrics } from '../shared/observability/metrics.ts';
import { stageQuantiles } from './latency.ts';

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
