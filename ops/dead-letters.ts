/**
 * The dead-letter topic for operators: list, inspect and replay. Dead letters are trade-batch CloudEvents in
 * Kafka binary mode with Knative's `knativeerror*` extensions. A replay writes each event back onto the
 * topic the functions read, byte for byte and with its own CloudEvent id, so the functions' idempotency
 * (trade rows keyed on the id, minute-window's claim on the id) makes a replay as safe as any redelivery.
 */
import { fromKafkaRecord, REPLAYED_EXTENSION } from '../shared/contract/event.ts';
import type { IncomingRecord, KafkaClient, OutgoingRecord } from '../shared/kafka/types.ts';

export interface DeadLetter {
  readonly partition: number;
  readonly offset: string;
  readonly id: string;
  readonly subject: string;
  readonly type: string;
  /** The last HTTP status the function answered; absent for timeouts and network errors. */
  readonly code: string | null;
  readonly destination: string | null;
  /** The function's answer body (Knative keeps up to 1 KiB). */
  readonly reason: string | null;
  /** A 4xx other than 404/408/409/429: the function refused the event, a replay would fail the same way. */
  readonly poison: boolean;
  readonly record: IncomingRecord;
}

const RETRIED_4XX = new Set(['404', '408', '409', '429']);
const header = (r: IncomingRecord, name: string): string | null => r.headers[name]?.toString() ?? null;

export function describeDeadLetter(record: IncomingRecord): DeadLetter {
  const code = header(record, 'ce_knativeerrorcode');
  const data = header(record, 'ce_knativeerrordata');
  return {
    partition: record.partition,
    offset: record.offset,
    id: header(record, 'ce_id') ?? `partition:${record.partition}/offset:${record.offset}`,
    subject: header(record, 'ce_subject') ?? '',
    type: header(record, 'ce_type') ?? '',
    code,
    destination: header(record, 'ce_knativeerrordest'),
    reason: data ? Buffer.from(data, 'base64').toString('utf8') : null,
    poison: !!code?.startsWith('4') && !RETRIED_4XX.has(code ?? ''),
    record,
  };
}

/** The event as it was before it failed: the error extensions and the source's own extensions removed. */
export function replayRecord(dl: DeadLetter, replayedAtMs: number): OutgoingRecord {
  const headers: Record<string, Buffer | string> = {};
  for (const [k, v] of Object.entries(dl.record.headers)) {
    if (/^ce_(knativeerror|knativekafka)/.test(k)) continue;
    headers[k] = v;
  }
  // Counted by the functions (mp_replayed_events_total); the id, and so the event's identity, is unchanged.
  headers[`ce_${REPLAYED_EXTENSION}`] = String(replayedAtMs);
  return { key: dl.record.key, value: dl.record.value, headers };
}

/** Trades of a dead letter, decoded with the contract (null when it is not a trade batch). */
export function decodeTrades(dl: DeadLetter) {
  try {
    return fromKafkaRecord(dl.record).trades;
  } catch {
    return null;
  }
}

export interface ReadOptions {
  readonly topic: string;
  /** A group that commits once `use` succeeded (replay), or none: a throwaway group, nothing committed. */
  readonly groupId?: string;
  readonly idleMs: number;
}

/**
 * Hands `use` every record from the group's committed offsets (or the beginning) up to the end offsets at
 * the start of the read, then commits what was read if `use` resolved. The read also ends after `idleMs`
 * without a record (partitions whose records expired). If `use` throws, nothing is committed and the next
 * read hands the same records again.
 */
export async function withDeadLetters<T>(
  kafka: KafkaClient,
  opts: ReadOptions,
  use: (letters: DeadLetter[]) => Promise<T>,
): Promise<T> {
  const admin = await kafka.admin();
  let end: Record<number, string>;
  let committed: Record<number, string>;
  try {
    end = await admin.endOffsets(opts.topic);
    committed = opts.groupId ? await admin.committedOffsets(opts.groupId, opts.topic) : {};
  } finally {
    await admin.close();
  }
  const waiting = new Set(
    Object.entries(end)
      .filter(([p, e]) => BigInt(e) > 0n && BigInt(committed[Number(p)] ?? '-1') < BigInt(e))
      .map(([p]) => Number(p)),
  );
  if (waiting.size === 0) return use([]);
  const letters: DeadLetter[] = [];
  const next = new Map<number, string>();
  let lastSeen = Date.now();
  let finish!: () => void;
  const done = new Promise<void>((r) => {
    finish = r;
  });
  const consumer = await kafka.groupConsumer(
    {
      groupId:
        opts.groupId ?? `dlq-read-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
      topics: [opts.topic],
      fromBeginning: true,
      autoCommit: false,
    },
    async (record) => {
      lastSeen = Date.now();
      const e = BigInt(end[record.partition] ?? '0');
      if (BigInt(record.offset) >= e) return; // arrived after the read began: left for the next read
      if (next.has(record.partition) && BigInt(record.offset) < BigInt(next.get(record.partition)!)) return;
      letters.push(describeDeadLetter(record));
      next.set(record.partition, (BigInt(record.offset) + 1n).toString());
      if (BigInt(record.offset) + 1n >= e) waiting.delete(record.partition);
      if (waiting.size === 0) finish();
    },
  );
  const idle = setInterval(() => {
    if (Date.now() - lastSeen > opts.idleMs) finish();
  }, 200);
  try {
    await consumer.joined();
    lastSeen = Date.now();
    await done;
    clearInterval(idle);
    const result = await use(letters);
    if (opts.groupId && next.size > 0) {
      await consumer.commit(
        [...next].map(([partition, offset]) => ({ topic: opts.topic, partition, offset })),
      );
    }
    return result;
  } finally {
    clearInterval(idle);
    await consumer.stop();
  }
}

export interface ReplaySummary {
  readonly read: number;
  readonly replayed: number;
  /** The same event dead-lettered by both functions: sent once. */
  readonly duplicates: number;
  readonly poison: number;
}

/**
 * Writes the dead letters back onto `to`, each event once (by CloudEvent id), poison left out unless
 * `includePoison`. Resolves after the broker acknowledged every record (acks=all).
 */
export async function replayDeadLetters(
  kafka: KafkaClient,
  letters: readonly DeadLetter[],
  opts: { to: string; includePoison: boolean; dryRun: boolean; now?: () => number },
): Promise<ReplaySummary> {
  const seen = new Set<string>();
  const out: OutgoingRecord[] = [];
  let duplicates = 0;
  let poison = 0;
  const at = (opts.now ?? Date.now)();
  for (const dl of letters) {
    if (dl.poison && !opts.includePoison) {
      poison += 1;
      continue;
    }
    if (seen.has(dl.id)) {
      duplicates += 1;
      continue;
    }
    seen.add(dl.id);
    out.push(replayRecord(dl, at));
  }
  if (!opts.dryRun && out.length > 0) {
    const producer = await kafka.producer();
    try {
      for (let i = 0; i < out.length; i += 500) await producer.send(opts.to, out.slice(i, i + 500));
    } finally {
      await producer.close();
    }
  }
  return { read: letters.length, replayed: opts.dryRun ? 0 : out.length, duplicates, poison };
}
