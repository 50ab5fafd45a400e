/**
 * Cassandra's background work during a phase, read once a second from `system_views.thread_pools`: which
 * seconds a memtable flush or a compaction was running, and how many finished. A phase's slowest seconds can
 * then be read against them in the bench's own output; until now that took the node's log after the run
 * (docs/decisions.md, "No wait when quiet": a 2.5 s flush at the 1,000/s phase's start was its p99).
 */
import type { Client } from 'cassandra-driver';

/** Flushes run on MemtableFlushWriter (one task per flush), merges on CompactionExecutor. */
export const WATCHED_POOLS = ['MemtableFlushWriter', 'CompactionExecutor'] as const;
export type WatchedPool = (typeof WATCHED_POOLS)[number];

export interface PoolSample {
  /** Epoch ms of the read. */
  readonly at: number;
  readonly pool: WatchedPool;
  readonly active: number;
  readonly completed: number;
}

export interface PoolWork {
  /** Tasks finished between the first and the last read. */
  readonly completed: number;
  /** Seconds (UTC, hh:mm:ss) at which a read found a task running. */
  readonly busySeconds: string[];
}

const QUERY = 'SELECT name, active_tasks, completed_tasks FROM system_views.thread_pools';

/** One read of the watched pools. */
export async function readPools(client: Client, at = Date.now()): Promise<PoolSample[]> {
  const rs = await client.execute(QUERY);
  const out: PoolSample[] = [];
  for (const r of rs.rows) {
    const pool = WATCHED_POOLS.find((p) => p === r.name);
    if (!pool) continue;
    out.push({ at, pool, active: Number(r.active_tasks), completed: Number(r.completed_tasks) });
  }
  return out;
}

/** What the reads show per pool: tasks finished over them, and the seconds a task was running. */
export function summarizePools(samples: readonly PoolSample[]): Record<WatchedPool, PoolWork> {
  const out = {} as Record<WatchedPool, PoolWork>;
  for (const pool of WATCHED_POOLS) {
    const mine = samples.filter((s) => s.pool === pool).sort((a, b) => a.at - b.at);
    const busy = new Set<string>();
    for (const s of mine) if (s.active > 0) busy.add(new Date(s.at).toISOString().slice(11, 19));
    const completed = mine.length > 1 ? mine[mine.length - 1]!.completed - mine[0]!.completed : 0;
    out[pool] = { completed, busySeconds: [...busy] };
  }
  return out;
}

/**
 * Reads the pools every `everyMs` until stopped. A failed read is counted and skipped: the bench measures
 * the pipeline, and a missing second of this does not make its figures wrong.
 */
export function watchPools(client: Client, everyMs = 1000) {
  const samples: PoolSample[] = [];
  let reads = 0;
  let failed = 0;
  let pending: Promise<void> | undefined;
  // One read at a time: a tick that finds the last read still out is skipped.
  const read = () => {
    if (pending) return;
    pending = readPools(client)
      .then(
        (s) => {
          reads++;
          samples.push(...s);
        },
        () => void failed++,
      )
      .finally(() => {
        pending = undefined;
      });
  };
  read();
  const timer = setInterval(read, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      read();
      await pending;
      return { ...summarizePools(samples), reads, ...(failed > 0 && { failedReads: failed }) };
    },
  };
}
