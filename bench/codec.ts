/**
 * Codec benchmark: the per-trade CPU of the contract's steps that only the pipeline pays (the floor hands the
 * handlers decoded events), in nanoseconds per trade at event sizes the bridge's window makes at 1,000 to
 * 25,000 trades/s. No runtime needed: `npm run bench -- codec`.
 * - bridge: a Finnhub frame's JSON text → accepted trades (`parseFrame`), and an event's Avro record
 *   (`toKafkaRecord`);
 * - each function: the HTTP request → a checked event (`fromHttp`: CloudEvent, Avro decode, acceptance).
 */
import { type FrameLimits, parseFrame } from '../functions/bridge/frame.ts';
import {
  acceptancePolicy,
  buildTradeBatchEvent,
  fromHttp,
  toHttpBinary,
  toKafkaRecord,
} from '../shared/contract/event.ts';
import type { Trade } from '../shared/contract/types.ts';
import { envNumber, envNumbers } from './env.ts';

/** Trades like the replay feed's BTC flow: one symbol, a condition code on most trades. */
function tradesOf(n: number, now: number): Trade[] {
  return Array.from({ length: n }, (_, i) => ({
    s: 'BINANCE:BTCUSDT',
    p: 97_000 + ((i * 7919) % 1000) / 100,
    t: now - 1000 + i,
    v: ((i * 104_729) % 10_000) / 100_000,
    c: i % 4 === 0 ? null : ['1'],
  }));
}

/** Nanoseconds per trade of `f` over `trades` trades, the best of `rounds` timed loops of ~`ms` each. */
function nsPerTrade(f: () => unknown, trades: number, rounds: number, ms: number): number {
  let loops = 1;
  for (let t0 = performance.now(); performance.now() - t0 < ms; loops++) f();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < loops; i++) f();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / loops / trades);
  }
  return Math.round(best);
}

export async function run(): Promise<Record<string, unknown>> {
  const sizes = envNumbers('BENCH_CODEC_TRADES', [20, 100, 500], { min: 1 });
  const rounds = envNumber('BENCH_CODEC_ROUNDS', 5, { min: 1 });
  const ms = envNumber('BENCH_CODEC_MS', 300, { min: 10 });
  const now = Date.now();
  const limits: FrameLimits = {
    maxFrameBytes: 1 << 24,
    acceptance: { symbols: new Set(['BINANCE:BTCUSDT']) },
  };
  const policy = acceptancePolicy();
  const rows = sizes.map((n) => {
    const trades = tradesOf(n, now);
    const text = JSON.stringify({ type: 'trade', data: trades });
    const ev = buildTradeBatchEvent({ symbol: trades[0]!.s, trades, receivedAtMs: now });
    const req = toHttpBinary(ev);
    return {
      tradesPerEvent: n,
      'bridge parseFrame ns/trade': nsPerTrade(() => parseFrame(text, false, limits, now), n, rounds, ms),
      'bridge toKafkaRecord ns/trade': nsPerTrade(
        () => toKafkaRecord(buildTradeBatchEvent({ symbol: trades[0]!.s, trades, receivedAtMs: now })),
        n,
        rounds,
        ms,
      ),
      'function fromHttp ns/trade': nsPerTrade(() => fromHttp(req.headers, req.body, policy), n, rounds, ms),
    };
  });
  console.log('[bench] codec: ns per trade (best of %d rounds)', rounds);
  console.table(rows);
  return { rounds, rows };
}
