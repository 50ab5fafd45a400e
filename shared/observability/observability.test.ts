import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { METRICS } from './catalogue.ts';
import { createLogger, registerSecret } from './logger.ts';
import { createRegistry, registerMetrics } from './metrics.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, destination };
}

describe('logger', () => {
  it('writes JSON lines with level labels and scrubs registered secrets anywhere in the line', async () => {
    const secret = 'sk_live_ABCDEF123456';
    registerSecret(secret);
    const { lines, destination } = capture();
    const log = createLogger('test', { destination });
    log.info(
      { url: `wss://ws.example?token=${secret}`, token: secret, nested: { password: 'hunter22' } },
      `boom ${secret}`,
    );
    log.error(new Error(`connect failed for ${secret}`), 'failed');
    await new Promise((r) => setImmediate(r));
    const all = lines.join('');
    expect(all).not.toContain(secret);
    expect(all).not.toContain('hunter22');
    const first = JSON.parse(lines[0]!);
    expect(first.level).toBe('info');
    expect(first.name).toBe('test');
    expect(first.url).toBe('wss://ws.example?token=[REDACTED]');
  });
});

describe('metrics catalogue', () => {
  it('has unique, well-formed names', () => {
    const names = Object.values(METRICS).map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const d of Object.values(METRICS)) {
      expect(d.name).toMatch(/^mp_[a-z0-9_]+$/);
      if (d.kind === 'counter') expect(d.name).toMatch(/_total$/);
      if (d.kind === 'histogram') expect(d.buckets?.length).toBeGreaterThan(0);
    }
  });

  it('registers catalogue metrics that render in the Prometheus text format', async () => {
    const registry = createRegistry({ service: 'test' });
    const m = registerMetrics(registry, ['functionEvents', 'functionDuration']);
    m.functionEvents.inc({ function: 'f', outcome: 'ok' });
    m.functionDuration.observe({ function: 'f' }, 0.02);
    expect(registerMetrics(registry, ['functionEvents']).functionEvents).toBe(m.functionEvents);
    const text = await registry.metrics();
    expect(text).toContain('mp_function_events_total{function="f",outcome="ok",service="test"} 1');
    expect(text).toContain('mp_function_event_duration_seconds_bucket');
    expect(text).toContain('mp_process_cpu_seconds_total');
  });
});
