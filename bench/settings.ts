/**
 * Cassandra's own settings, A/B on the pipeline's write shape: each variant is a private node (same jars,
 * JVM flags and template as the runtime, plus the variant's cassandra.yaml overrides), driven at a paced
 * rate of events that each make the writes one event makes in the pipeline (trade-writer's rows and change
 * mark, minute-window's claim and counters). Every variant starts cold and gets the same warm-up, so JIT
 * and first flushes cost each the same. Printed per variant: Cassandra's CPU (percent of one core and CPU-ms
 * per 1,000 trades) and the per-event write latency p50/p99 as the functions see it.
 * Env: BENCH_SETTINGS_VARIANTS (comma list of names below; default all), BENCH_SETTINGS_EVENTS_PER_S
 * (default 80: 1,000 trades/s in 12.5-trade events, as the bridge makes them), BENCH_SETTINGS_TRADES (12),
 * BENCH_SETTINGS_WARMUP_S (30), BENCH_SETTINGS_SECONDS (30).
 */
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPrivateCassandra } from '../dev/runtime/private-cassandra.ts';
import { createCassandraClient } from '../shared/cassandra/client.ts';
import { loadCassandraConfig } from '../shared/cassandra/config.ts';
import { MarketStore } from '../shared/cassandra/market-store.ts';
import { migrate } from '../shared/cassandra/migrate.ts';
import { sumsByMinute } from '../shared/market/aggregate.ts';
import { minuteOf } from '../shared/market/time.ts';
import { envNumber } from './env.ts';
import { cpuMeter, noteMachineLoad, pidListeningOn } from './proc-cpu.ts';
import { syntheticEvents } from './synthetic.ts';

/**
 * Per variant: cassandra.yaml overrides (appended: the last occurrence of a key wins in SnakeYAML's map) and
 * JVM options (`jvm:` keys, added after the runtime's own).
 */
export const VARIANTS: Record<string, Record<string, string | number>> = {
  default: {},
  // C1 only: no C2 compiler threads, which take a large share of two cores for minutes after a start.
  'c1-only': { 'jvm:-XX:TieredStopAtLevel=1': '' },
  // Fewer SEP workers: idle workers spin (park 10 µs .. 1 ms) looking for work, which two cores pay for.
  'few-threads': {
    concurrent_reads: 4,
    concurrent_writes: 4,
    concurrent_counter_writes: 4,
    native_transport_max_threads: 8,
  },
  offheap: { memtable_allocation_type: 'offheap_objects' },
};

export async function run(): Promise<Record<string, unknown>> {
  const names = (process.env.BENCH_SETTINGS_VARIANTS ?? Object.keys(VARIANTS).join(',')).split(',');
  const eventsPerS = envNumber('BENCH_SETTINGS_EVENTS_PER_S', 80, { min: 1 });
  const size = envNumber('BENCH_SETTINGS_TRADES', 12, { min: 1 });
  const warmupS = envNumber('BENCH_SETTINGS_WARMUP_S', 30, { min: 0 });
  const seconds = envNumber('BENCH_SETTINGS_SECONDS', 30, { min: 1 });
  noteMachineLoad('settings');
  const out: Record<string, unknown> = { eventsPerS, tradesPerEvent: size, warmupS, seconds };
  for (const name of names) {
    const overrides = VARIANTS[name];
    if (!overrides) throw new Error(`unknown variant ${name}; known: ${Object.keys(VARIANTS).join(', ')}`);
    const node = await startPrivateCassandra({
      dir: mkdtempSync(join(tmpdir(), `mp-settings-${name}-`)),
      heapMb: 1024,
      jvmArgs: Object.keys(overrides)
        .filter((k) => k.startsWith('jvm:'))
        .map((k) => k.slice(4)),
      configure: (yaml) => {
        appendFileSync(
          yaml,
          `\n# bench settings variant ${name}\n${Object.entries(overrides)
            .filter(([k]) => !k.startsWith('jvm:'))
            .map(([k, v]) => `${k}: ${v}`)
            .join('\n')}\n`,
        );
        return yaml;
      },
    });
    const keyspace = 'bench_settings';
    const client = createCassandraClient(
      loadCassandraConfig({
        CASSANDRA_CONTACT_POINTS: node.contactPoints.join(','),
        CASSANDRA_LOCAL_DC: node.localDataCenter,
        CASSANDRA_KEYSPACE: keyspace,
        CASSANDRA_REQUEST_TIMEOUT_MS: '30000',
      }),
      { withoutKeyspace: true },
    );
    try {
      await migrate(client, {
        keyspace,
        replication: { class: 'SimpleStrategy', factors: { replication_factor: 1 } },
      });
      await client.execute(`USE "${keyspace}"`);
      const store = new MarketStore(client, { tradeTtlS: 3600, appliedEventTtlS: 3600 });
      const pid = pidListeningOn(node.port);
      if (pid === undefined) throw new Error(`settings: no process listens on ${node.port}`);
      const event = syntheticEvents('S', 50);
      const oneEvent = async () => {
        const { id, trades } = event(size);
        const now = Date.now();
        const started = performance.now();
        await Promise.all([
          (async () => {
            await store.writeTrades(id, trades, now, 'batch');
            await store.bumpWrites(trades[0]!.s, [minuteOf(now)]);
          })(),
          (async () => {
            if (await store.claimEvent(id)) await store.addCounters(trades[0]!.s, sumsByMinute(trades), true);
          })(),
        ]);
        return performance.now() - started;
      };
      const paced = async (s: number, lat?: number[]) => {
        const t0 = performance.now();
        const pending: Promise<void>[] = [];
        for (let i = 0; i < s * eventsPerS; i++) {
          const due = t0 + (i * 1000) / eventsPerS;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
          pending.push(oneEvent().then((ms) => void lat?.push(ms)));
        }
        await Promise.all(pending);
      };
      await paced(warmupS);
      const lat: number[] = [];
      const meter = cpuMeter({ cassandra: pid });
      meter.start();
      await paced(seconds, lat);
      const cpu = meter.stop(seconds * eventsPerS * size).cassandra!;
      lat.sort((a, b) => a - b);
      const q = (x: number) =>
        Math.round(lat[Math.min(lat.length - 1, Math.floor(x * lat.length))]! * 10) / 10;
      const r = {
        overrides,
        cassandraPercentOfCore: cpu.percentOfCore,
        cassandraMsPer1000Trades: cpu.msPer1000Trades,
        eventMsP50: q(0.5),
        eventMsP99: q(0.99),
      };
      out[name] = r;
      console.log(`[bench] settings ${name}: ${JSON.stringify(r)}`);
    } finally {
      await client.shutdown();
      await node.close();
    }
  }
  console.table(
    Object.fromEntries(
      names.map((n) => {
        const r = out[n] as Record<string, number>;
        return [
          n,
          {
            '% core': r.cassandraPercentOfCore,
            'CPU-ms/1k trades': r.cassandraMsPer1000Trades,
            'event p50 ms': r.eventMsP50,
            'event p99 ms': r.eventMsP99,
          },
        ];
      }),
    ),
  );
  return out;
}
