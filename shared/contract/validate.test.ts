import { describe, expect, it } from 'vitest';
import { acceptTrade, acceptTrades, DEFAULT_MAX_FUTURE_SKEW_MS, MAX_PRICE, MAX_VOLUME } from './validate.ts';

const NOW = Date.UTC(2026, 10, 22);
const ok = { s: 'BINANCE:BTCUSDT', p: 66972.77, t: NOW - 1000, v: 0.01 };
const at = { nowMs: NOW };

describe('acceptTrade (the one acceptance rule of bridge and functions)', () => {
  it.each([
    ['a BTC trade', ok, { ...ok, c: null }],
    ['a price update (v=0)', { ...ok, v: 0 }, { ...ok, v: 0, c: null }],
    ['conditions', { ...ok, c: ['1', '12'] }, { ...ok, c: ['1', '12'] }],
    ['extra fields dropped', { ...ok, x: 1, c: null }, { ...ok, c: null }],
    ['the largest price', { ...ok, p: MAX_PRICE, v: 1 }, { ...ok, p: MAX_PRICE, v: 1, c: null }],
    [
      'a trade at the skew limit',
      { ...ok, t: NOW + DEFAULT_MAX_FUTURE_SKEW_MS },
      { ...ok, t: NOW + 10_000, c: null },
    ],
  ])('accepts %s', (_n, input, expected) => {
    expect(acceptTrade(input, at)).toEqual({ ok: true, trade: expected });
  });

  it.each([
    ['null items removed', ['1', null], ['1'], 'conditions_null_items'],
    ['only nulls', [null, null], [], 'conditions_null_items'],
    ['not an array', '1', null, 'conditions_dropped'],
    ['a number item', [1], null, 'conditions_dropped'],
    ['an object item', [{}], null, 'conditions_dropped'],
    ['a long item', ['x'.repeat(17)], null, 'conditions_dropped'],
    ['a non-printable item', ['a\u0000'], null, 'conditions_dropped'],
    ['too many items', Array.from({ length: 33 }, () => '1'), null, 'conditions_dropped'],
  ])(
    'keeps the trade when conditions are malformed (%s) and says how it repaired them',
    (_n, c, fixed, fix) => {
      expect(acceptTrade({ ...ok, c }, at)).toEqual({ ok: true, trade: { ...ok, c: fixed }, fix });
    },
  );

  it.each([
    ['null', null, 'not_object'],
    ['array', [ok], 'not_object'],
    ['no symbol', { ...ok, s: undefined }, 'symbol'],
    ['empty symbol', { ...ok, s: '' }, 'symbol'],
    ['symbol with space', { ...ok, s: 'BTC USD' }, 'symbol'],
    ['numeric symbol', { ...ok, s: 42 }, 'symbol'],
    ['huge symbol', { ...ok, s: 'X'.repeat(65) }, 'symbol'],
    ['zero price', { ...ok, p: 0 }, 'price'],
    ['negative price', { ...ok, p: -1 }, 'price'],
    ['NaN price', { ...ok, p: Number.NaN }, 'price'],
    ['Infinity price', { ...ok, p: Number.POSITIVE_INFINITY }, 'price'],
    ['price beyond the counter range', { ...ok, p: MAX_PRICE * 2 }, 'price'],
    ['string price', { ...ok, p: '1.0' }, 'price'],
    ['negative volume', { ...ok, v: -0.1 }, 'volume'],
    ['missing volume', { ...ok, v: undefined }, 'volume'],
    ['volume beyond the counter range', { ...ok, v: MAX_VOLUME * 2 }, 'volume'],
    ['notional beyond the counter range', { ...ok, p: 1e6, v: 1e7 }, 'volume'],
    ['seconds instead of ms', { ...ok, t: Math.floor(NOW / 1000) }, 'time'],
    ['fractional ms', { ...ok, t: NOW - 0.5 }, 'time'],
    ['past the skew', { ...ok, t: NOW + DEFAULT_MAX_FUTURE_SKEW_MS + 1 }, 'future'],
    ['two days ahead', { ...ok, t: NOW + 2 * 86_400_000 }, 'future'],
  ])('rejects %s', (_n, input, reason) => {
    expect(acceptTrade(input, at)).toEqual({ ok: false, reason });
  });

  it('takes the skew and the allow-list from the policy', () => {
    const ahead = { ...ok, t: NOW + 60_000 };
    expect(acceptTrade(ahead, at).ok).toBe(false);
    expect(acceptTrade(ahead, { ...at, maxFutureSkewMs: 120_000 }).ok).toBe(true);
    const symbols = new Set(['AAPL']);
    expect(acceptTrade(ok, { ...at, symbols })).toEqual({ ok: false, reason: 'unsubscribed' });
    expect(acceptTrade({ ...ok, s: 'AAPL' }, { ...at, symbols }).ok).toBe(true);
  });

  it("refuses a trade of another symbol than the policy's subject as `symbol`", () => {
    expect(acceptTrade(ok, { ...at, subject: 'BINANCE:BTCUSDT' }).ok).toBe(true);
    expect(acceptTrade(ok, { ...at, subject: 'AAPL' })).toEqual({ ok: false, reason: 'symbol' });
    const r = acceptTrades([ok, { ...ok, s: 'AAPL' }, ok], { ...at, subject: 'BINANCE:BTCUSDT' });
    expect(r.indices).toEqual([0, 2]);
    expect(r.rejects).toEqual({ symbol: 1 });
  });

  it('checks every symbol, whatever passed before it', () => {
    const seq = ['AAPL', 'BTC USD', 'BTC USD', 'AAPL', '', 'MSFT', 'X'.repeat(65), 'MSFT', 'a\u0000'];
    const r = acceptTrades(
      seq.map((s) => ({ ...ok, s })),
      at,
    );
    expect(r.trades.map((t) => t.s)).toEqual(['AAPL', 'AAPL', 'MSFT', 'MSFT']);
    expect(r.rejects).toEqual({ symbol: 5 });
  });

  it('keeps a clean conditions list as it came (no copy per trade) and counts no repair', () => {
    const c = ['1', '12'];
    const r = acceptTrades([{ ...ok, c }], at);
    expect(r.trades[0]!.c).toBe(c);
    expect(r.fixes).toEqual({});
  });

  it('acceptTrades keeps the positions of the kept trades and counts the rest', () => {
    const r = acceptTrades([ok, { ...ok, p: 0 }, { ...ok, c: ['1', null] }, null], at);
    expect(r.indices).toEqual([0, 2]);
    expect(r.trades.map((t) => t.c)).toEqual([null, ['1']]);
    expect(r.rejects).toEqual({ price: 1, not_object: 1 });
    expect(r.fixes).toEqual({ conditions_null_items: 1 });
  });
});
