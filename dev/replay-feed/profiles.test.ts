import { describe, expect, it } from 'vitest';
import { type FeedFrame, Market } from './market.ts';
import { type LoadProfileName, loadProfile } from './profiles.ts';

/** What a feed does at `rate` trades/s for `seconds`: one call per 20 ms tick, as server.ts does. */
function run(profile: LoadProfileName, rate: number, seconds: number) {
  const p = loadProfile(profile);
  const market = new Market({ ...p.market, seed: 11 });
  const frames: FeedFrame[] = [];
  const perTick = (rate * 20) / 1000;
  let asked = 0;
  for (let t = 0; t < (seconds * 1000) / 20; t++) {
    asked += perTick;
    frames.push(...market.frames(1_700_000_000_000 + t * 20, perTick, p.symbols));
  }
  const trades = frames.flatMap((f) => f.data);
  return { p, market, frames, trades, asked };
}

const share = (trades: { s: string }[], symbol: string) =>
  trades.filter((t) => t.s === symbol).length / trades.length;

// Generous: generating ~100k trades takes seconds on a loaded two-core machine.
describe('load profiles', { timeout: 30_000 }, () => {
  it('finnhub4: 1–20 trades per frame, rare burst frames of hundreds, BTC takes most of the flow', () => {
    const { p, market, frames, trades, asked } = run('finnhub4', 5000, 16);
    // The rate holds: what was sent is what was asked, give or take the one burst still owed.
    expect(trades.length + market.owedTrades).toBe(asked);
    expect(market.owedTrades).toBeLessThanOrEqual(500);
    const sizes = frames.map((f) => f.data.length);
    const bursts = frames.filter((f) => f.data.length > 20);
    expect(sizes.every((n) => n >= 1)).toBe(true);
    // A burst frame may be cut only by the end of a tick's ask, never below 100 unless it repays a debt;
    // ordinary frames stay within 1–20.
    expect(bursts.length).toBeGreaterThan(0);
    expect(bursts.length / frames.length).toBeLessThan(0.01);
    for (const b of bursts) {
      expect(b.data.length).toBeGreaterThanOrEqual(100);
      expect(b.data.length).toBeLessThanOrEqual(500);
      expect(new Set(b.data.map((d) => d.s))).toEqual(new Set([p.symbols[0]]));
    }
    const ordinary = sizes.filter((n) => n <= 20);
    expect(Math.max(...ordinary)).toBe(20);
    const hot = share(trades, p.symbols[0]!);
    expect(hot).toBeGreaterThan(0.7);
    expect(hot).toBeLessThan(0.9);
    for (const s of p.symbols.slice(1)) expect(share(trades, s)).toBeGreaterThan(0.02);
  });

  it('finnhub50: fifty distinct symbols, all traded, the hot one most', () => {
    const { p, trades, market, asked } = run('finnhub50', 1000, 30);
    expect(new Set(p.symbols).size).toBe(50);
    expect(trades.length + market.owedTrades).toBe(asked);
    const seen = new Set(trades.map((t) => t.s));
    expect(seen).toEqual(new Set(p.symbols));
    expect(share(trades, p.symbols[0]!)).toBeGreaterThan(0.65);
  });

  it('flat: exactly the asked trades, 1–8 per frame, no symbol favoured', () => {
    const { p, frames, trades, asked } = run('flat', 1000, 20);
    expect(trades.length).toBe(asked);
    expect(Math.max(...frames.map((f) => f.data.length))).toBeLessThanOrEqual(8);
    for (const s of p.symbols) expect(share(trades, s)).toBeCloseTo(0.25, 1);
  });

  it('names every known profile in the error for an unknown one', () => {
    expect(() => loadProfile('nope')).toThrow(/flat, finnhub4, finnhub50/);
  });
});
