import { describe, expect, it } from 'vitest';
import { checkTrade } from './validate.ts';

const NOW = Date.UTC(2026, 10, 22);
const ok = { s: 'BINANCE:BTCUSDT', p: 66972.77, t: NOW - 1000, v: 0.01 };

describe('checkTrade', () => {
  it.each([
    ['a BTC trade', ok, { ...ok, c: null }],
    ['a price update (v=0)', { ...ok, v: 0 }, { ...ok, v: 0, c: null }],
    ['conditions', { ...ok, c: ['1', '12'] }, { ...ok, c: ['1', '12'] }],
    ['extra fields dropped', { ...ok, x: 1, c: null }, { ...ok, c: null }],
  ])('accepts %s', (_n, input, expected) => {
    expect(checkTrade(input, NOW)).toEqual({ ok: true, trade: expected });
  });

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
    ['string price', { ...ok, p: '1.0' }, 'price'],
    ['negative volume', { ...ok, v: -0.1 }, 'volume'],
    ['missing volume', { ...ok, v: undefined }, 'volume'],
    ['seconds instead of ms', { ...ok, t: Math.floor(NOW / 1000) }, 'time'],
    ['fractional ms', { ...ok, t: NOW + 0.5 }, 'time'],
    ['two days ahead', { ...ok, t: NOW + 2 * 86_400_000 }, 'time'],
    ['conditions not an array', { ...ok, c: '1' }, 'conditions'],
    ['condition not a string', { ...ok, c: [1] }, 'conditions'],
  ])('rejects %s', (_n, input, reason) => {
    expect(checkTrade(input, NOW)).toEqual({ ok: false, reason });
  });
});
