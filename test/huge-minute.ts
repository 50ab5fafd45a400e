import type { Trade } from '../shared/contract/types.ts';
import type { ScaledSums } from '../shared/market/aggregate.ts';

/**
 * Test data for issue 12 item 6: `n` trades of one symbol in one minute at about $100,000 with 2-decimal
 * prices and 8-decimal volumes, from a seeded PRNG, together with their scaled sums computed independently of
 * `aggregate.ts`: straight from the integer cents and satoshis the prices and volumes were made of.
 */
export function hugeMinute(seed: number, n: number, minute = Date.UTC(2026, 10, 22, 9, 0)) {
  let x = seed >>> 0 || 1;
  // xorshift32: deterministic, fast, good enough to spread prices and volumes.
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const trades: Trade[] = [];
  const expected: ScaledSums = { trades: 0n, volumeE8: 0n, priceE8: 0n, notionalE6: 0n };
  for (let i = 0; i < n; i++) {
    const cents = 10_000_000 + (next() % 200_000); // $100,000.00 .. $101,999.99
    const sats = 1 + ((next() * 4096 + (next() % 4096)) % 1_000_000_000); // 0.00000001 .. 10 units
    trades.push({ s: 'HUGE', p: cents / 100, v: sats / 1e8, t: minute + (i % 60_000), c: null });
    const c = BigInt(cents);
    const v = BigInt(sats);
    expected.trades += 1n;
    expected.priceE8 += c * 1_000_000n;
    expected.volumeE8 += v;
    // notional_e6 = round(price · volume · 1e6) = round(cents · sats / 1e4), half up.
    expected.notionalE6 += (c * v + 5_000n) / 10_000n;
  }
  return { trades, expected };
}
