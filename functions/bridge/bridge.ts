import type { Registry } from 'prom-client';
import { buildTradeBatchEvent, type Trade, toKafkaRecord } from '../../shared/contract/index.ts';
import { type Logger, registerMetrics, registerSecret } from '../../shared/observability/index.ts';
import { type CoalescedBatch, Coalescer } from './coalesce.ts';
import type { BridgeConfig } from './config.ts';
import { Delivery, type RecordSink } from './delivery.ts';
import { BridgeErrors } from './errors.ts';
import { FeedClient, type FeedEvent } from './feed-client.ts';
import { type ParsedFrame, splitBySymbol } from './frame.ts';
import { nowMs, type OutRecord, recordBytes } from './record.ts';
import { DiskSpool } from './spool.ts';

export const BRIDGE_METRIC_KEYS = [
  'bridgeFrames',
  'bridgeFrameRejects',
  'bridgeTrades',
  'bridgeTradeRejects',
  'bridgeTradeFixes',
  'bridgeTradesAcked',
  'bridgeRecordsAcked',
  'bridgeDropped',
  'bridgeReconnects',
  'bridgeFeedErrors',
  'bridgeSocketOpen',
  'bridgeSymbols',
  'bridgeProduceFailures',
  'bridgeProduceDuration',
  'bridgeAckLatency',
  'bridgeQueueDepth',
  'bridgeCoalesceWindow',
  'bridgeSpoolDepth',
  'bridgeSpoolBytes',
  'bridgeKafkaAvailable',
  'bridgeLastTradeAge',
  'bridgeLastPrice',
] as const;

/** A Kafka sink that also says whether its producer is connected (readiness). */
export interface BridgeSink extends RecordSink {
  readonly ready: boolean;
  start(): void;
  close(): Promise<void>;
}

export interface BridgeDeps {
  config: BridgeConfig;
  /** Feed URL actually used (the replay feed's when no token is set). */
  feedUrl: string;
  logger: Logger;
  registry: Registry;
  sink: BridgeSink;
  /** Per-ack observer (bench). */
  onAck?: (records: readonly OutRecord[], ackAt: number) => void;
}

/**
 * The bridge: feed client → frame validation → per-symbol coalescing → records → delivery (queue, spool, Kafka).
 * `main.ts` builds the dependencies from config; tests and the bench build them directly.
 */
export class Bridge {
  readonly feed: FeedClient;
  readonly delivery: Delivery;
  readonly spool: DiskSpool;
  readonly metrics: ReturnType<typeof registerMetrics<(typeof BRIDGE_METRIC_KEYS)[number]>>;
  private readonly lastTrade = new Map<string, number>();
  /** Only configured symbols get a staleness series: a misbehaving feed must not explode label cardinality. */
  private readonly configured: ReadonlySet<string>;
  private readonly log: Logger;
  private readonly lastRejectLog = new Map<string, number>();
  private readonly coalescer: Coalescer;
  private readonly overhead = new Map<string, number>();
  private stopping: Promise<{ drained: boolean; spooled: number }> | undefined;

  constructor(private readonly deps: BridgeDeps) {
    const { config, logger, registry } = deps;
    registerSecret(config.token);
    this.log = logger;
    this.configured = new Set(config.symbols);
    this.metrics = registerMetrics(registry, BRIDGE_METRIC_KEYS);
    const m = this.metrics;
    this.spool = new DiskSpool({
      dir: config.spoolDir,
      maxBytes: config.spoolMaxBytes,
      segmentBytes: config.spoolSegmentBytes,
      fsync: config.spoolFsync,
      fsyncIntervalMs: config.spoolFsyncIntervalMs,
    });
    const rec = this.spool.recovery;
    if (rec.records > 0 || rec.truncatedBytes > 0 || rec.corruptSegments > 0) {
      const d = BridgeErrors.SPOOL_RECOVERED;
      logger.info(
        { code: d.code, ...rec },
        'records from a previous run found in the spool; sending them first',
      );
    }
    this.delivery = new Delivery({
      sink: deps.sink,
      spool: this.spool,
      logger,
      maxQueueRecords: config.queueMaxRecords,
      maxBatchRecords: config.batchMaxRecords,
      maxBatchBytes: config.batchMaxBytes,
      stallMs: config.kafkaStallMs,
      retry: { initialMs: config.retryInitialMs, maxMs: config.retryMaxMs },
      hooks: {
        onAck: (records, sendSeconds, ackAt) => {
          let trades = 0;
          for (const r of records) {
            trades += r.trades;
            m.bridgeAckLatency.observe(Math.max(0, ackAt - r.receivedAt) / 1000);
          }
          m.bridgeTradesAcked.inc(trades);
          m.bridgeRecordsAcked.inc(records.length);
          m.bridgeProduceDuration.observe(sendSeconds);
          deps.onAck?.(records, ackAt);
        },
        onSendFailure: () => m.bridgeProduceFailures.inc(),
        onDrop: (_records, trades, reason) => m.bridgeDropped.inc({ reason }, trades),
        onAvailability: (available) => m.bridgeKafkaAvailable.set(available ? 1 : 0),
      },
    });
    m.bridgeKafkaAvailable.set(1);
    m.bridgeSocketOpen.set(0);
    this.feed = new FeedClient({
      url: deps.feedUrl,
      token: config.token,
      symbols: config.symbols,
      maxSymbols: config.maxSymbols,
      backoff: { initialMs: config.backoffInitialMs, maxMs: config.backoffMaxMs },
      rateLimitBackoffMs: config.rateLimitBackoffMs,
      watchdogMs: config.watchdogMs,
      connectTimeoutMs: config.connectTimeoutMs,
      maxFrameBytes: config.maxFrameBytes,
      maxFutureSkewMs: config.maxFutureSkewS * 1000,
      logger,
      onFrame: (frame, receivedAt) => this.onFrame(frame, receivedAt),
      onEvent: (ev) => this.onFeedEvent(ev),
    });
    this.coalescer = new Coalescer({
      windowMs: config.coalesceMs,
      minWindowMs: config.coalesceMinMs,
      fullRate: config.coalesceFullRate,
      maxTrades: config.coalesceMaxTrades,
      maxBytes: () => Math.min(config.coalesceMaxBytes, deps.sink.maxBatchBytes ?? Number.POSITIVE_INFINITY),
      overheadBytes: (symbol) => this.overheadBytes(symbol),
      emit: (batches) => this.emit(batches),
    });
    this.installCollectors();
  }

  private onFeedEvent(ev: FeedEvent): void {
    const m = this.metrics;
    switch (ev.type) {
      case 'open':
        m.bridgeSocketOpen.set(1);
        break;
      case 'close':
        m.bridgeSocketOpen.set(0);
        m.bridgeReconnects.inc({ reason: ev.reason });
        break;
      case 'feed_error':
        m.bridgeFeedErrors.inc({ kind: ev.kind });
        break;
      case 'subscriptions':
        m.bridgeSymbols.set({ state: 'subscribed' }, ev.subscribed);
        m.bridgeSymbols.set({ state: 'refused' }, ev.refused);
        break;
    }
  }

  /** Logs a rejection at most once per 10 s per reason (a hostile feed must not flood the log). */
  private logReject(reason: string, detail: Record<string, unknown>): void {
    const now = Date.now();
    if (now - (this.lastRejectLog.get(reason) ?? 0) < 10_000) return;
    this.lastRejectLog.set(reason, now);
    this.log.warn(
      { code: BridgeErrors.FRAME_REJECTED.code, reason, ...detail },
      'dropped invalid input from the feed',
    );
  }

  /** Handles one parsed frame. Public for tests; never throws. */
  onFrame(frame: ParsedFrame, receivedAt: number): void {
    const m = this.metrics;
    m.bridgeFrames.inc({ type: frame.kind });
    if (frame.kind === 'invalid') {
      m.bridgeFrameRejects.inc({ reason: frame.reason });
      this.logReject(frame.reason, {});
      return;
    }
    if (frame.kind === 'other') {
      this.logReject('unknown_type', { type: frame.type });
      return;
    }
    if (frame.kind !== 'trade') return;
    for (const [reason, n] of Object.entries(frame.rejects)) {
      m.bridgeTradeRejects.inc({ reason }, n);
      this.logReject(reason, { trades: n });
    }
    for (const [fix, n] of Object.entries(frame.fixes)) m.bridgeTradeFixes.inc({ fix }, n);
    if (frame.trades.length === 0) return;
    const bySymbol = splitBySymbol(frame.trades);
    m.bridgeTrades.inc(frame.trades.length);
    for (const [symbol, trades] of bySymbol) {
      if (!this.configured.has(symbol)) continue;
      this.lastTrade.set(symbol, receivedAt);
      // The newest trade by trade time (frames may carry a symbol's trades out of order).
      const newest = trades.reduce((a, t) => (t.t >= a.t ? t : a));
      m.bridgeLastPrice.set({ symbol }, newest.p);
    }
    this.coalescer.add(bySymbol, receivedAt);
  }

  /** Builds the records of coalesced batches (the event id is made here) and hands them to delivery. */
  private emit(batches: readonly CoalescedBatch[]): void {
    const m = this.metrics;
    const records: OutRecord[] = [];
    for (const { symbol, trades, receivedAt } of batches) {
      try {
        const kr = toKafkaRecord(
          buildTradeBatchEvent({
            symbol,
            trades,
            receivedAtMs: Math.floor(receivedAt),
            source: this.deps.config.source,
          }),
        );
        records.push({ ...kr, receivedAt, trades: trades.length });
      } catch (err) {
        // A bug, not bad input (the trades passed acceptance): counted as refused and logged.
        m.bridgeTradeRejects.inc({ reason: 'encode' }, trades.length);
        this.log.error({ code: BridgeErrors.INTERNAL.code, err, symbol }, 'could not encode trades');
      }
    }
    this.delivery.push(records);
  }

  /** Record bytes beyond the trades for a symbol (headers, key, framing), measured once on a real record. */
  private overheadBytes(symbol: string): number {
    let n = this.overhead.get(symbol);
    if (n === undefined) {
      const probe: Trade = { s: symbol, p: 1, t: Date.now(), v: 1, c: null };
      const kr = toKafkaRecord(
        buildTradeBatchEvent({
          symbol,
          trades: [probe],
          receivedAtMs: Date.now(),
          source: this.deps.config.source,
        }),
      );
      // Beyond the probe's value: room for a longer id (a split's suffix) and a wider timestamp.
      n = recordBytes({ ...kr, receivedAt: 0, trades: 1 }) - kr.value.length + 64;
      if (this.overhead.size < 10_000) this.overhead.set(symbol, n);
    }
    return n;
  }

  /** Emits the batches still gathering, then waits until Kafka acknowledged everything (tests, bench). */
  flush(timeoutMs: number): Promise<boolean> {
    this.coalescer.flush();
    return this.delivery.flush(timeoutMs);
  }

  /** Gauges computed at scrape time: prom-client calls `collect` of each before reading it. */
  private installCollectors(): void {
    const m = this.metrics;
    const on = (g: object, fn: () => void) => {
      (g as { collect?: () => void }).collect = fn;
    };
    on(m.bridgeQueueDepth, () => m.bridgeQueueDepth.set(this.delivery.queued));
    on(m.bridgeCoalesceWindow, () => m.bridgeCoalesceWindow.set(this.coalescer.windowMs / 1000));
    on(m.bridgeSpoolDepth, () => m.bridgeSpoolDepth.set(this.spool.depth));
    on(m.bridgeSpoolBytes, () => m.bridgeSpoolBytes.set(this.spool.bytes));
    on(m.bridgeSocketOpen, () => m.bridgeSocketOpen.set(this.feed.isOpen ? 1 : 0));
    on(m.bridgeLastTradeAge, () => {
      const now = nowMs();
      for (const [symbol, at] of this.lastTrade)
        m.bridgeLastTradeAge.set({ symbol }, Math.max(0, now - at) / 1000);
    });
  }

  /** Why the bridge is not ready ([] = ready): socket open, producer ready, not spooling. */
  notReadyReasons(): string[] {
    const out: string[] = [];
    if (!this.feed.isOpen) out.push('feed socket not open');
    if (!this.deps.sink.ready) out.push('Kafka producer not connected');
    if (!this.delivery.kafkaAvailable) out.push('Kafka unavailable');
    if (this.delivery.spooling) out.push('spooling to disk');
    if (this.stopping) out.push('shutting down');
    return out;
  }

  start(): void {
    this.deps.sink.start();
    this.feed.start();
  }

  /**
   * Graceful stop: close the websocket (frames already on the wire are still taken), then give Kafka up to
   * `timeoutMs` to acknowledge everything; what is left goes to the spool for the next start.
   */
  stop(timeoutMs: number): Promise<{ drained: boolean; spooled: number }> {
    this.stopping ??= (async () => {
      await this.feed.stop();
      // Frames taken until the socket closed are in the coalescer: they go to delivery (and Kafka or the
      // spool) with everything else.
      this.coalescer.close();
      const res = await this.delivery.close(timeoutMs);
      await this.deps.sink.close();
      this.log.info({ ...res }, res.drained ? 'bridge stopped; everything acknowledged' : 'bridge stopped');
      return res;
    })();
    return this.stopping;
  }
}
