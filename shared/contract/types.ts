import type { TradeFix, TradeRejectReason } from './validate.ts';

/** One trade as Finnhub sends it and as the seed Avro schema stores it. */
export interface Trade {
  /** Symbol, e.g. `BINANCE:BTCUSDT`. */
  readonly s: string;
  /** Price (finite, > 0). */
  readonly p: number;
  /** Trade time, Unix milliseconds (integer). */
  readonly t: number;
  /** Volume (finite, >= 0; 0 marks a price update without a trade). */
  readonly v: number;
  /** Trade condition codes, or null when the venue sends none. */
  readonly c: ReadonlyArray<string | null> | null;
}

/** The seed record `FinnhubProducer.message`: a frame's trades (here: one symbol's) and the frame type. */
export interface TradeFrame {
  readonly type: string;
  readonly data: readonly Trade[];
}

/**
 * A parsed trade-batch CloudEvent: one record per symbol and bridge coalescing window (one or more frames).
 * A trade's identity is `(id, index in trades)`: deterministic across redeliveries, distinct for
 * same-millisecond trades.
 */
export interface TradeBatchEvent {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  /** The symbol; every trade in `trades` has `s === subject`. */
  readonly subject: string;
  /** RFC 3339 time of the first trade. */
  readonly time: string;
  readonly dataschema: string;
  readonly datacontenttype: string;
  /** When the bridge received the (first) frame (Unix ms), for end-to-end latency. */
  readonly receivedms: number;
  /** The trades that passed acceptance (`acceptTrade`), normalised. */
  readonly trades: readonly Trade[];
  /**
   * Position of each of `trades` in the event's data: a trade's identity index, unchanged when acceptance
   * dropped a neighbour, so a redelivery writes the same rows.
   */
  readonly indices: readonly number[];
  /** Trades refused by acceptance when the event was read, by reason. */
  readonly rejects: Readonly<Partial<Record<TradeRejectReason, number>>>;
  /** Optional fields acceptance repaired (the trades were kept), by kind. */
  readonly fixes: Readonly<Partial<Record<TradeFix, number>>>;
  /** The Avro bytes of `{ type: 'trade', data: trades }` (seed-compatible). */
  readonly data: Buffer;
  /** Extensions added on the way (e.g. `knativekafkapartition`), as strings. */
  readonly extensions: Readonly<Record<string, string>>;
}
