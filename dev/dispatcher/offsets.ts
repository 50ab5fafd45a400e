/**
 * In-order offset commits over out-of-order completions (KafkaSource's OffsetManager): per partition, the
 * offsets handed out in fetch order, which of them reached an outcome, and the highest contiguous
 * completed one. A record whose delivery is still running (or was abandoned at shutdown) holds back the
 * commit of everything after it, so a restart redelivers it rather than skipping it.
 */

interface Entry {
  readonly offset: bigint;
  done: boolean;
}

export class PartitionOffsets {
  private queue: Entry[] = [];
  private head = 0;
  private byOffset = new Map<bigint, Entry>();
  private lastTracked: bigint | undefined;
  /** The next offset to commit (last contiguous completed + 1), once something completed. */
  private next: bigint | undefined;
  private committed: bigint | undefined;
  /** Bumped when the partition is fetched again from an earlier offset; stale completions are ignored. */
  generation = 0;

  /**
   * Registers a fetched offset. An offset at or below the last one seen means the consumer went back
   * (rebalance, restart of the fetch): the old bookkeeping no longer describes what will be delivered.
   */
  track(offset: string): number {
    const o = BigInt(offset);
    if (this.lastTracked !== undefined && o <= this.lastTracked) this.reset();
    const e: Entry = { offset: o, done: false };
    this.queue.push(e);
    this.byOffset.set(o, e);
    this.lastTracked = o;
    return this.generation;
  }

  /** Marks an outcome (delivered, dead-lettered or dropped). */
  complete(offset: string, generation: number): void {
    if (generation !== this.generation) return;
    const e = this.byOffset.get(BigInt(offset));
    if (!e) return;
    e.done = true;
    while (this.head < this.queue.length && this.queue[this.head]!.done) {
      const first = this.queue[this.head]!;
      this.byOffset.delete(first.offset);
      this.next = first.offset + 1n;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** The offset to commit now, or undefined when nothing new completed since the last commit. */
  committable(): string | undefined {
    if (this.next === undefined || this.next === this.committed) return undefined;
    return this.next.toString();
  }

  markCommitted(offset: string): void {
    this.committed = BigInt(offset);
  }

  /** The last committed offset (next to read), if this member committed one. */
  lastCommitted(): string | undefined {
    return this.committed?.toString();
  }

  /** Records fetched but without an outcome yet. */
  pending(): number {
    return this.queue.length - this.head;
  }

  private reset(): void {
    this.queue = [];
    this.head = 0;
    this.byOffset.clear();
    this.lastTracked = undefined;
    this.next = undefined;
    this.generation++;
  }
}

/** All partitions of one group member. */
export class OffsetBook {
  private readonly parts = new Map<string, { topic: string; partition: number; offsets: PartitionOffsets }>();

  partition(topic: string, partition: number): PartitionOffsets {
    const k = `${topic}\u0000${partition}`;
    let p = this.parts.get(k);
    if (!p) {
      p = { topic, partition, offsets: new PartitionOffsets() };
      this.parts.set(k, p);
    }
    return p.offsets;
  }

  /** What to commit now (Kafka convention: the next offset to read). */
  committable(): { topic: string; partition: number; offset: string }[] {
    const out: { topic: string; partition: number; offset: string }[] = [];
    for (const { topic, partition, offsets } of this.parts.values()) {
      const offset = offsets.committable();
      if (offset !== undefined) out.push({ topic, partition, offset });
    }
    return out;
  }

  markCommitted(list: readonly { topic: string; partition: number; offset: string }[]): void {
    for (const c of list) this.partition(c.topic, c.partition).markCommitted(c.offset);
  }

  /** Where this member's commits stand, per partition it committed on. */
  committed(): { topic: string; partition: number; offset: string }[] {
    const out: { topic: string; partition: number; offset: string }[] = [];
    for (const { topic, partition, offsets } of this.parts.values()) {
      const offset = offsets.lastCommitted();
      if (offset !== undefined) out.push({ topic, partition, offset });
    }
    return out;
  }

  pending(): number {
    let n = 0;
    for (const { offsets } of this.parts.values()) n += offsets.pending();
    return n;
  }
}
