import type { MarketOptions } from './market.ts';

/**
 * Named load profiles of the synthetic market, for benchmarks (`BENCH_PROFILE`) and the CLI (`--profile`):
 * which symbols a client subscribes to and how the feed shapes its frames. None of them changes the offered
 * rate (no rate bursts), so a benchmark phase offers what it says.
 */
export interface LoadProfile {
  readonly name: string;
  readonly description: string;
  /** What the bridge subscribes to (FINNHUB_SYMBOLS); the first one is the hot symbol where there is one. */
  readonly symbols: readonly string[];
  readonly market: MarketOptions;
}

const FOUR = ['BINANCE:BTCUSDT', 'BINANCE:ETHUSDT', 'AAPL', 'MSFT'] as const;

/** Fifty symbols, the Finnhub free tier's per-connection limit: exchange pairs and US stocks. */
const FIFTY = [
  ...FOUR,
  'BINANCE:SOLUSDT',
  'BINANCE:XRPUSDT',
  'BINANCE:DOGEUSDT',
  'BINANCE:BNBUSDT',
  'BINANCE:ADAUSDT',
  'BINANCE:AVAXUSDT',
  'BINANCE:LINKUSDT',
  'BINANCE:DOTUSDT',
  'BINANCE:LTCUSDT',
  'BINANCE:TRXUSDT',
  'COINBASE:BTC-USD',
  'COINBASE:ETH-USD',
  'TSLA',
  'AMZN',
  'NVDA',
  'GOOGL',
  'META',
  'AMD',
  'INTC',
  'NFLX',
  'ORCL',
  'CRM',
  'ADBE',
  'AVGO',
  'QCOM',
  'CSCO',
  'IBM',
  'PYPL',
  'UBER',
  'SHOP',
  'JPM',
  'BAC',
  'WFC',
  'GS',
  'V',
  'MA',
  'KO',
  'PEP',
  'WMT',
  'COST',
  'DIS',
  'NKE',
  'XOM',
  'CVX',
  'PFE',
  'JNJ',
] as const;

/**
 * Finnhub-like frames: 1–20 trades, now and then a burst frame of hundreds of trades of the hot symbol
 * (about one frame in 500), and the hot symbol (BTC) alone in 70 % of the frames.
 */
const finnhubFrames = (symbols: readonly string[]): MarketOptions => ({
  minTradesPerFrame: 1,
  maxTradesPerFrame: 20,
  burstFrameProbability: 0.002,
  burstFrameTrades: [100, 500],
  hotSymbol: symbols[0]!,
  hotShare: 0.7,
  burstProbability: 0,
});

export const LOAD_PROFILES = {
  flat: {
    name: 'flat',
    description: '4 symbols equally likely, 1–8 trades and 1–3 symbols per frame, no bursts',
    symbols: FOUR,
    market: { burstProbability: 0 },
  },
  finnhub4: {
    name: 'finnhub4',
    description:
      '4 symbols, BTC alone in 70 % of frames, 1–20 trades per frame, 1 frame in 500 a burst of 100–500 BTC trades',
    symbols: FOUR,
    market: finnhubFrames(FOUR),
  },
  finnhub50: {
    name: 'finnhub50',
    description:
      '50 symbols, BTC alone in 70 % of frames, 1–20 trades per frame, 1 frame in 500 a burst of 100–500 BTC trades',
    symbols: FIFTY,
    market: finnhubFrames(FIFTY),
  },
} as const satisfies Record<string, LoadProfile>;

export type LoadProfileName = keyof typeof LOAD_PROFILES;

export function loadProfile(name: string): LoadProfile {
  if (!Object.hasOwn(LOAD_PROFILES, name)) {
    throw new Error(
      `unknown load profile ${JSON.stringify(name)}; known: ${Object.keys(LOAD_PROFILES).join(', ')}`,
    );
  }
  return LOAD_PROFILES[name as LoadProfileName];
}
