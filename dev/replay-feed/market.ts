/**
 * A synthetic, seeded multi-symbol market that looks like Finnhub's trade stream: per-symbol geometric random
 * walks on a tick grid, bursts, several trades (and symbols) per frame, runs of same-millisecond trades,
 * `v = 0` price updates, `c: null` for crypto and condition arrays for stocks, and the occasional trade whose
 * time is a little behind the previous one (Finnhub's out-of-order `t`).
 */

export interface FeedTrade {
  s: string;
  p: number;
  t: number;
  v: number;
  c: string[] | null;
}

export interface FeedFrame {
  type: 'trade';
  data: FeedTrade[];
}

export interface MarketOptions {
  /** Seed of the PRNG: the same seed and the same calls give the same trades. */
  seed?: number;
  /** Lower bound of trades in one (ordinary) frame (default 1). */
  minTradesPerFrame?: number;
  /** Upper bound of trades in one (ordinary) frame (Finnhub batches; default 8). */
  maxTradesPerFrame?: number;
  /**
   * Probability that a frame is a burst frame of `burstFrameTrades` trades of one symbol (default 0). Burst
   * frames do not change the rate: trades beyond what the caller asked for are owed and taken from the next
   * calls, so the long-run total is what was asked (within one burst).
   */
  burstFrameProbability?: number;
  /** Size range of a burst frame, inclusive (default [100, 500]). */
  burstFrameTrades?: readonly [number, number];
  /** A symbol that takes most of the flow when subscribed (default: none, symbols are equally likely). */
  hotSymbol?: string;
  /** Probability that a frame carries only the hot symbol (default 0); burst frames are the hot symbol's. */
  hotShare?: number;
  /** Probability that the next trade shares the previous trade's millisecond (default 0.35). */
  sameMsProbability?: number;
  /** Probability of a `v = 0` price update (default 0.03). */
  zeroVolumeProbability?: number;
  /** Probability that a trade's time is 1..500 ms behind the symbol's last time (default 0.01). */
  outOfOrderProbability?: number;
  /**
   * Probability per generation step that a rate burst starts (default 0.002); a rate burst multiplies the
   * rate 5..20× for a while, so the offered rate is no longer the configured one (benchmarks turn it off).
   */
  burstProbability?: number;
}

/** mulberry32: tiny, fast, good enough for synthetic data, and reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SymbolState {
  price: number;
  tick: number;
  decimals: number;
  volumeScale: number;
  volumeDecimals: number;
  lastT: number;
  crypto: boolean;
}

const KNOWN_START: Record<string, number> = {
  'BINANCE:BTCUSDT': 66_000,
  'BINANCE:ETHUSDT': 3_400,
  'BINANCE:XRPUSDT': 0.52,
  'BINANCE:DOGEUSDT': 0.13,
  'BINANCE:SOLUSDT': 150,
  AAPL: 190,
  TSLA: 240,
  MSFT: 410,
  AMZN: 180,
};

const STOCK_CONDITIONS: string[][] = [['1', '12'], ['1', '24', '12'], ['1', '8', '24', '12'], ['12'], ['1']];

const round = (x: number, decimals: number): number => {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
};

export class Market {
  private readonly rnd: () => number;
  private readonly symbols = new Map<string, SymbolState>();
  private readonly minTradesPerFrame: number;
  private readonly maxTradesPerFrame: number;
  private readonly burstFrameP: number;
  private readonly burstFrameTrades: readonly [number, number];
  private readonly hotSymbol: string | undefined;
  private readonly hotShare: number;
  /** Trades sent in burst frames beyond what was asked, taken from the next calls. */
  private owed = 0;
  private readonly sameMs: number;
  private readonly zeroVolume: number;
  private readonly outOfOrder: number;
  private readonly burstP: number;
  private burstLeft = 0;
  private burstFactor = 1;

  constructor(opts: MarketOptions = {}) {
    this.rnd = prng(opts.seed ?? 1);
    this.minTradesPerFrame = Math.max(1, opts.minTradesPerFrame ?? 1);
    this.maxTradesPerFrame = Math.max(this.minTradesPerFrame, opts.maxTradesPerFrame ?? 8);
    this.burstFrameP = opts.burstFrameProbability ?? 0;
    const [lo, hi] = opts.burstFrameTrades ?? [100, 500];
    this.burstFrameTrades = [Math.max(1, lo), Math.max(1, lo, hi)];
    this.hotSymbol = opts.hotSymbol;
    this.hotShare = opts.hotShare ?? 0;
    this.sameMs = opts.sameMsProbability ?? 0.35;
    this.zeroVolume = opts.zeroVolumeProbability ?? 0.03;
    this.outOfOrder = opts.outOfOrderProbability ?? 0.01;
    this.burstP = opts.burstProbability ?? 0.002;
  }

  /** Current rate multiplier: 1 normally, 5..20 during a burst (decays per step). */
  rateFactor(): number {
    if (this.burstLeft > 0) {
      this.burstLeft--;
      return this.burstFactor;
    }
    if (this.rnd() < this.burstP) {
      this.burstLeft = 20 + Math.floor(this.rnd() * 80);
      this.burstFactor = 5 + Math.floor(this.rnd() * 16);
      return this.burstFactor;
    }
    return 1;
  }

  private state(symbol: string, nowMs: number): SymbolState {
    let st = this.symbols.get(symbol);
    if (!st) {
      const crypto = symbol.includes(':');
      const start = KNOWN_START[symbol] ?? 5 + this.rnd() * 500;
      const decimals = start >= 1000 ? 2 : start >= 1 ? 3 : 5;
      st = {
        price: start,
        tick: 10 ** -decimals,
        decimals,
        volumeScale: crypto ? Math.max(0.0001, 50 / start) : 100,
        volumeDecimals: crypto ? 5 : 0,
        lastT: nowMs,
        crypto,
      };
      this.symbols.set(symbol, st);
    }
    return st;
  }

  private trade(symbol: string, t: number, st: SymbolState): FeedTrade {
    // Geometric random walk with a tiny per-trade sigma; the grid keeps prices on realistic ticks.
    const shock = (this.rnd() - 0.5) * 2 * 0.0004;
    st.price = Math.max(st.tick, st.price * (1 + shock));
    const p = Math.max(st.tick, round(Math.round(st.price / st.tick) * st.tick, st.decimals));
    let v = 0;
    if (this.rnd() >= this.zeroVolume) {
      // Heavy-ish tail: most trades small, a few large.
      const r = this.rnd();
      v = round(st.volumeScale * (0.01 + r * r * r * 5), st.volumeDecimals);
      if (v === 0) v = st.crypto ? 10 ** -st.volumeDecimals : 1;
    }
    const c = st.crypto ? null : [...STOCK_CONDITIONS[Math.floor(this.rnd() * STOCK_CONDITIONS.length)]!];
    return { s: symbol, p, t, v, c };
  }

  /** Trades already sent beyond what the callers asked for (burst frames); the next calls send fewer. */
  get owedTrades(): number {
    return this.owed;
  }

  private between(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }

  /**
   * Generates frames holding `trades` trades over `symbols`, stamped around `nowMs`: exactly that many
   * without burst frames; with them, the long-run total is what was asked and one call may send up to one
   * burst more or less. One frame mixes one to three symbols (a burst or hot frame: one); trades of one
   * symbol keep their generation order.
   */
  frames(nowMs: number, trades: number, symbols: readonly string[]): FeedFrame[] {
    const out: FeedFrame[] = [];
    if (symbols.length === 0 || trades <= 0) return out;
    let left = Math.floor(trades);
    const repaid = Math.min(this.owed, left);
    this.owed -= repaid;
    left -= repaid;
    const hot =
      this.hotSymbol !== undefined && this.hotShare > 0 && symbols.includes(this.hotSymbol)
        ? this.hotSymbol
        : undefined;
    while (left > 0) {
      let n: number;
      let chosen: string[];
      if (this.burstFrameP > 0 && this.rnd() < this.burstFrameP) {
        n = this.between(this.burstFrameTrades[0], this.burstFrameTrades[1]);
        if (n > left) this.owed += n - left;
        left -= Math.min(n, left);
        chosen = [hot ?? symbols[Math.floor(this.rnd() * symbols.length)]!];
      } else {
        n = Math.min(left, this.between(this.minTradesPerFrame, this.maxTradesPerFrame));
        left -= n;
        if (hot !== undefined && this.rnd() < this.hotShare) chosen = [hot];
        else {
          const k = Math.min(symbols.length, 1 + Math.floor(this.rnd() * 3));
          const first = Math.floor(this.rnd() * symbols.length);
          chosen = [];
          for (let i = 0; i < k; i++) chosen.push(symbols[(first + i) % symbols.length]!);
        }
      }
      out.push({ type: 'trade', data: this.tradesOf(nowMs, n, chosen) });
    }
    return out;
  }

  private tradesOf(nowMs: number, n: number, chosen: readonly string[]): FeedTrade[] {
    const data: FeedTrade[] = [];
    const inFrame = new Set<string>();
    for (let i = 0; i < n; i++) {
      const symbol = chosen[Math.floor(this.rnd() * chosen.length)]!;
      const st = this.state(symbol, nowMs);
      let t: number;
      if (this.rnd() < this.outOfOrder) t = Math.max(0, st.lastT - 1 - Math.floor(this.rnd() * 500));
      else if (inFrame.has(symbol) && this.rnd() < this.sameMs) t = st.lastT;
      else t = Math.max(st.lastT, nowMs - Math.floor(this.rnd() * 3));
      inFrame.add(symbol);
      if (t > st.lastT) st.lastT = t;
      data.push(this.trade(symbol, t, st));
    }
    return data;
  }
}
