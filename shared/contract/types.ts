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
 * A parsed trade-batch CloudEvent: one record per (websocket frame, symbol).
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
  /** When the bridge received the frame (Unix ms), for end-to-end latency. */
  readonly receivedms: number;
  readonly trades: readonly Trade[];
  /** The Avro bytes of `{ type: 'trade', data: trades }` (seed-compatible). */
  readonly data: Buffer;
  /** Extensions added on the way (e.g. `knativekafkapartition`), as strings. */
  readonly extensions: Readonly<Record<string, string>>;
}
