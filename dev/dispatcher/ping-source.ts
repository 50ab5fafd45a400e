/**
 * PingSource: one CloudEvent per cron tick to the sink. Like Knative's mt-ping adapter it sends once per
 * tick with no retries and never catches up on ticks missed while the process was not running.
 */
import { CronExpressionParser } from 'cron-parser';
import type { Attempt } from './dispatch.ts';
import type { PingSourceManifest } from './manifests.ts';

/**
 * Validates a schedule the way PingSource does (standard 5-field cron or an @descriptor, optionally after
 * `CRON_TZ=`/`TZ=`) and returns the expression and timezone to evaluate it with.
 */
export function parseSchedule(schedule: string, timezone?: string): { expression: string; tz: string } {
  let expr = schedule.trim();
  let tz = timezone ?? 'Etc/UTC';
  const prefix = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(expr);
  if (prefix) {
    tz = prefix[1]!;
    expr = prefix[2]!.trim();
  }
  const fields = expr.split(/\s+/);
  if (!expr.startsWith('@') && fields.length !== 5) {
    // cron-parser would read 6 fields as seconds-first; Kubernetes cron has none.
    throw new Error(
      `schedule ${JSON.stringify(schedule)}: expected 5 cron fields (minute hour day month weekday)`,
    );
  }
  try {
    CronExpressionParser.parse(expr, { tz, currentDate: new Date(0) }).next();
  } catch (err) {
    throw new Error(`schedule ${JSON.stringify(schedule)}: ${(err as Error).message}`);
  }
  return { expression: expr, tz };
}

/** The next `count` fire times strictly after `from`. */
export function nextFireTimes(schedule: string, timezone: string | undefined, from: Date, count = 1): Date[] {
  const { expression, tz } = parseSchedule(schedule, timezone);
  const it = CronExpressionParser.parse(expression, { tz, currentDate: from });
  const out: Date[] = [];
  for (let i = 0; i < count; i++) out.push(it.next().toDate());
  return out;
}

export type PingTrigger = 'schedule' | 'manual';
export type PingSender = (ps: PingSourceManifest, at: Date, trigger: PingTrigger) => Promise<Attempt>;

/** setTimeout cannot wait longer than this; longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class PingScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly sending = new Set<Promise<unknown>>();
  private running = false;

  constructor(
    private readonly sources: readonly PingSourceManifest[],
    private readonly send: PingSender,
    private readonly now: () => Date = () => new Date(),
  ) {
    // Fail at start, not at the first tick.
    for (const s of sources) parseSchedule(s.schedule, s.timezone);
  }

  start(): void {
    this.running = true;
    for (const s of this.sources) this.arm(s);
  }

  names(): string[] {
    return this.sources.map((s) => s.name);
  }

  /** Sends one event now, as if the schedule fired (for tests and for poking the finalizer by hand). */
  async trigger(name: string): Promise<Attempt> {
    const s = this.sources.find((x) => x.name === name);
    if (!s) throw new Error(`no PingSource named ${JSON.stringify(name)}`);
    return this.track(this.send(s, this.now(), 'manual'));
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.sending]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.sending.add(p);
    void p.finally(() => this.sending.delete(p)).catch(() => {});
    return p;
  }

  private arm(s: PingSourceManifest, after: Date = this.now()): void {
    if (!this.running) return;
    // From the later of the last fire time and now: a slow or suspended process skips missed ticks.
    const now = this.now();
    const from = after > now ? after : now;
    const [at] = nextFireTimes(s.schedule, s.timezone, from);
    const wait = Math.min(Math.max(0, at!.getTime() - now.getTime()), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      if (!this.running) return;
      if (this.now().getTime() < at!.getTime()) {
        this.arm(s, from);
        return;
      }
      void this.track(this.send(s, at!, 'schedule')).catch(() => {});
      this.arm(s, at!);
    }, wait);
    timer.unref();
    this.timers.set(s.name, timer);
  }
}
