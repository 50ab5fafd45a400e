import { describe, expect, it } from 'vitest';
import { FINALIZED_STALE_S, WATCHDOG_S } from '../../alerts/catalogue.ts';
import { METRICS, PROCESS_METRICS } from '../../shared/observability/catalogue.ts';
import { AlertWatch } from './alerts.ts';
import type { Snapshot } from './health.ts';
import type { Sample } from './prom-text.ts';

const T0 = 1_800_000_000_000;

/** A scrape of the local processes as the viewer sees it, with the values a scenario sets. */
function snap(atMs: number, v: Partial<Record<string, number>> = {}): Snapshot {
  const s = (name: string, value: number, labels: Record<string, string> = {}): Sample => ({
    name,
    labels,
    value,
  });
  const bridge = [
    s(METRICS.bridgeFrames.name, v.frames ?? atMs / 1000, { type: 'trade' }),
    s(METRICS.bridgeKafkaAvailable.name, v.kafka ?? 1),
    s(METRICS.bridgeSpoolDepth.name, v.spool ?? 0),
    s(PROCESS_METRICS.processStartTime.name, 1000),
  ];
  const dispatcher = [
    s(METRICS.dispatcherLag.name, v.lag ?? 0, { source: 'trades', topic: 'market', partition: '0' }),
    ...(v.dead ? [s(METRICS.dispatcherDeadLetters.name, v.dead, { source: 'trades', code: '400' })] : []),
    s(PROCESS_METRICS.processStartTime.name, 1000),
  ];
  const finalizer = [
    s(METRICS.finalizedMinute.name, v.finalized ?? Math.floor(atMs / 60_000) * 60 - 60, { symbol: 'X' }),
    s(PROCESS_METRICS.processStartTime.name, v.finalizerStart ?? 1000),
  ];
  return {
    atMs,
    byTarget: new Map([
      ['bridge', bridge],
      ['dispatcher', dispatcher],
      ['minute-finalizer', finalizer],
    ]),
  };
}

const firing = (w: AlertWatch, s: Snapshot, cassandraOk = true) =>
  w
    .evaluate(s, cassandraOk, s.atMs)
    .filter((a) => a.state === 'firing')
    .map((a) => a.name);

describe('the viewer evaluates the alert conditions over its scrapes', () => {
  it('shows every alert quiet on a healthy pipeline, over half an hour', () => {
    const w = new AlertWatch(T0);
    for (let t = T0; t <= T0 + 30 * 60_000; t += 15_000) expect(firing(w, snap(t))).toEqual([]);
  });

  it('shows each condition firing when it holds', () => {
    const w = new AlertWatch(T0);
    firing(w, snap(T0));
    const later = T0 + (WATCHDOG_S + 1) * 1000;
    expect(firing(w, snap(later, { frames: T0 / 1000 }))).toEqual(['MarketFeedSilent']);
    const stale = Math.floor(later / 60_000) * 60 - FINALIZED_STALE_S - 60;
    expect(firing(new AlertWatch(T0), snap(later, { finalized: stale }))).toEqual([
      'MarketFinalizedMinuteStale',
    ]);
    expect(firing(new AlertWatch(T0), snap(T0, { kafka: 0 }))).toEqual(['MarketKafkaDown']);
    expect(firing(new AlertWatch(T0), snap(T0, { spool: 12 }))).toEqual(['MarketBridgeSpooling']);
    expect(firing(new AlertWatch(T0), snap(T0, { dead: 1 }))).toEqual(['MarketDeadLetters']);
    expect(firing(new AlertWatch(T0), snap(T0), false)).toEqual(['MarketCassandraDown']);
    const r = new AlertWatch(T0);
    firing(r, snap(T0));
    expect(firing(r, snap(T0 + 15_000, { finalizerStart: 2000 }))).toEqual(['MarketProcessRestarting']);
    const lag = new AlertWatch(T0);
    let fired: string[] = [];
    for (let i = 0; i <= 44; i++) fired = firing(lag, snap(T0 + i * 15_000, { lag: 150 + i * 10 }));
    expect(fired).toEqual(['MarketConsumerLagGrowing']);
  });
});
