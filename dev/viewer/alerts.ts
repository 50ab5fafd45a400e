import {
  ALERTS,
  type AlertName,
  FINALIZED_STALE_S,
  LAG_GROWTH_MINUTES,
  LAG_RECORDS,
  metric,
  WATCHDOG_S,
} from '../../alerts/catalogue.ts';
import type { Snapshot } from './health.ts';

/**
 * The conditions of alerts/catalogue.ts, evaluated by the viewer over its scrapes of the local processes
 * (there is no Prometheus locally). Same thresholds; the local stand-ins: lag and dead letters come from the
 * dispatcher (the KafkaSource emulation), "Cassandra down" from the viewer's own queries, and restarts from
 * each process's start time. A `for` duration is not waited out: the strip shows a condition as it holds.
 */
export type AlertState = 'firing' | 'ok' | 'unknown';

export interface AlertStatus {
  readonly name: AlertName;
  readonly severity: 'critical' | 'warning';
  readonly summary: string;
  readonly state: AlertState;
  readonly detail: string;
}

const RECENT_MS = 15 * 60_000;
const LAG_WINDOW_MS = LAG_GROWTH_MINUTES * 60_000;

const all = (snap: Snapshot, key: Parameters<typeof metric>[0]) =>
  [...snap.byTarget.values()].flat().filter((s) => s.name === metric(key));
const total = (snap: Snapshot, key: Parameters<typeof metric>[0]): number | null => {
  const s = all(snap, key);
  return s.length === 0 ? null : s.reduce((a, x) => a + x.value, 0);
};

interface Point {
  readonly atMs: number;
  readonly value: number;
}

/** Remembers what the conditions need across scrapes (when a counter last moved, lag history, start times). */
export class AlertWatch {
  private framesSeen: { value: number; changedAtMs: number } | undefined;
  private lag: Point[] = [];
  private deadLetters: Point[] = [];
  private readonly starts = new Map<string, number>();
  private restartAtMs: number | undefined;
  private readonly startedAtMs: number;

  constructor(startedAtMs: number) {
    this.startedAtMs = startedAtMs;
  }

  evaluate(snap: Snapshot, cassandraOk: boolean, nowMs: number): AlertStatus[] {
    const state = new Map<AlertName, [AlertState, string]>();
    const scraped = snap.byTarget.size > 0;

    // Feed silent: the bridge's frame counter did not move for the watchdog span.
    const frames = total(snap, 'bridgeFrames');
    if (frames === null) {
      const silentS = (nowMs - this.startedAtMs) / 1000;
      state.set(
        'MarketFeedSilent',
        scraped && silentS > WATCHDOG_S
          ? ['firing', 'the bridge reports no frame']
          : ['unknown', 'no bridge frames scraped yet'],
      );
    } else {
      if (!this.framesSeen || this.framesSeen.value !== frames)
        this.framesSeen = { value: frames, changedAtMs: snap.atMs };
      const quietS = (nowMs - this.framesSeen.changedAtMs) / 1000;
      state.set('MarketFeedSilent', [
        quietS > WATCHDOG_S ? 'firing' : 'ok',
        `last frame ${Math.round(quietS)} s ago`,
      ]);
    }

    // Lag growing: above LAG_RECORDS and higher than LAG_GROWTH_MINUTES ago, never lower in between.
    const lag = total(snap, 'dispatcherLag');
    if (lag === null) state.set('MarketConsumerLagGrowing', ['unknown', 'no consumer lag scraped']);
    else {
      this.lag = [
        ...this.lag.filter((p) => nowMs - p.atMs <= LAG_WINDOW_MS * 2),
        { atMs: nowMs, value: lag },
      ];
      const window = this.lag.filter((p) => nowMs - p.atMs <= LAG_WINDOW_MS);
      const spans = this.lag[0]!.atMs <= nowMs - LAG_WINDOW_MS;
      const growing = window.every((p, i) => i === 0 || p.value >= window[i - 1]!.value);
      const firing = lag > LAG_RECORDS && spans && growing && lag > window[0]!.value;
      state.set('MarketConsumerLagGrowing', [firing ? 'firing' : 'ok', `lag ${lag} records`]);
    }

    // Dead letters in the last 15 minutes (before the first scrape 15 minutes ago: since the dispatcher started).
    const dead = total(snap, 'dispatcherDeadLetters') ?? 0;
    this.deadLetters = [
      ...this.deadLetters.filter((p) => nowMs - p.atMs <= RECENT_MS),
      { atMs: nowMs, value: dead },
    ];
    const baseline = nowMs - this.startedAtMs >= RECENT_MS ? this.deadLetters[0]!.value : 0;
    // The counter appears with the first dead letter: "none" needs a scraped dispatcher to be true.
    const dispatcher = [...snap.byTarget.values()].flat().some((x) => x.name.startsWith('mp_dispatcher_'));
    state.set('MarketDeadLetters', [
      dead > baseline ? 'firing' : dispatcher ? 'ok' : 'unknown',
      `${dead} dead-lettered since the dispatcher started`,
    ]);

    // Newest finalized minute.
    const finalized = all(snap, 'finalizedMinute');
    if (finalized.length === 0)
      state.set('MarketFinalizedMinuteStale', ['unknown', 'no minute finalized yet']);
    else {
      const ageS = nowMs / 1000 - Math.max(...finalized.map((s) => s.value));
      state.set('MarketFinalizedMinuteStale', [
        ageS > FINALIZED_STALE_S ? 'firing' : 'ok',
        `newest finalized minute started ${Math.round(ageS)} s ago`,
      ]);
    }

    // Restarts: a process whose start time changed between scrapes.
    for (const [target, samples] of snap.byTarget) {
      const start = samples.find((s) => s.name === metric('processStartTime'))?.value;
      if (start === undefined) continue;
      const before = this.starts.get(target);
      if (before !== undefined && before !== start) this.restartAtMs = nowMs;
      this.starts.set(target, start);
    }
    const restarted = this.restartAtMs !== undefined && nowMs - this.restartAtMs <= RECENT_MS;
    state.set('MarketProcessRestarting', [
      restarted ? 'firing' : scraped ? 'ok' : 'unknown',
      restarted ? 'a process restarted in the last 15 min' : `${this.starts.size} processes watched`,
    ]);

    state.set('MarketCassandraDown', [
      cassandraOk ? 'ok' : 'firing',
      cassandraOk ? 'queries answer' : 'queries fail',
    ]);

    const kafka = all(snap, 'bridgeKafkaAvailable');
    state.set(
      'MarketKafkaDown',
      kafka.length === 0
        ? ['unknown', 'bridge not scraped']
        : Math.min(...kafka.map((s) => s.value)) === 0
          ? ['firing', 'the bridge cannot reach Kafka']
          : ['ok', 'Kafka acknowledges'],
    );

    const spool = total(snap, 'bridgeSpoolDepth');
    state.set(
      'MarketBridgeSpooling',
      spool === null
        ? ['unknown', 'bridge not scraped']
        : [spool > 0 ? 'firing' : 'ok', `${spool} records spooled`],
    );

    return ALERTS.map((a) => {
      const [s, detail] = state.get(a.name) ?? ['unknown', ''];
      return { name: a.name, severity: a.severity, summary: a.summary, state: s, detail };
    });
  }
}
