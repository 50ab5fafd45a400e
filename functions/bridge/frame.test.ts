import { describe, expect, it } from 'vitest';
import { readFixtureJson } from '../../test/fixtures.ts';
import { parseFrame, splitBySymbol } from './frame.ts';

const seed = (name: string): unknown[] => readFixtureJson<unknown[]>(name);
const limits = { maxFrameBytes: 1 << 20 };
const NOW = Date.UTC(2025, 0, 1);

describe('parseFrame', () => {
  it('reads the seed trade frames, including same-millisecond trades and a missing c', () => {
    const frames = seed('finnhub-ws-messages.json').map((f) =>
      parseFrame(JSON.stringify(f), false, limits, NOW),
    );
    expect(frames.map((f) => f.kind)).toEqual(['trade', 'trade', 'trade']);
    const [btc, stocks, legacy] = frames as Extract<(typeof frames)[number], { kind: 'trade' }>[];
    expect(btc!.trades).toHaveLength(2);
    expect(btc!.trades[0]!.t).toBe(btc!.trades[1]!.t);
    expect(stocks!.trades.map((t) => t.c)).toEqual([
      ['1', '8', '24', '12'],
      ['1', '24', '12'],
    ]);
    expect(legacy!.trades[0]!.c).toBeNull();
    for (const f of [btc, stocks, legacy]) expect(f!.rejects).toEqual({});
  });

  it('reads the seed control frames', () => {
    const frames = seed('finnhub-ws-control-messages.json').map((f) =>
      parseFrame(JSON.stringify(f), false, limits),
    );
    expect(frames).toEqual([
      { kind: 'ping' },
      { kind: 'error', msg: 'Subscribing to too many symbols' },
      { kind: 'error', msg: 'Invalid symbol' },
    ]);
  });

  it('refuses whole frames by reason and never throws', () => {
    const cases: [Parameters<typeof parseFrame>[0], boolean, string][] = [
      [Buffer.from([0, 1, 2]), true, 'binary'],
      ['x'.repeat(2 << 20), false, 'too_large'],
      [Buffer.alloc(2 << 20, 0x20), false, 'too_large'],
      ['{"type":"trade"', false, 'not_json'],
      ['[1,2]', false, 'not_object'],
      ['"trade"', false, 'not_object'],
      ['null', false, 'not_object'],
      ['{"type":"trade","data":{"s":"A"}}', false, 'bad_data'],
      ['{"type":"trade"}', false, 'bad_data'],
      [`${'['.repeat(200_000)}${']'.repeat(200_000)}`, false, 'not_object'],
    ];
    for (const [data, bin, reason] of cases) {
      expect(parseFrame(data, bin, limits)).toEqual({ kind: 'invalid', reason });
    }
    expect(parseFrame('{"type":"news","data":[]}', false, limits)).toEqual({ kind: 'other', type: 'news' });
    expect(parseFrame('{"type":7}', false, limits)).toEqual({ kind: 'other', type: 'number' });
    expect(parseFrame('{"type":"error","msg":{"a":1}}', false, limits)).toEqual({
      kind: 'error',
      msg: '{"a":1}',
    });
    expect(parseFrame([Buffer.from('{"type":'), Buffer.from('"ping"}')], false, limits)).toEqual({
      kind: 'ping',
    });
  });

  it('drops bad trades by reason and keeps the rest of the frame', () => {
    const t = NOW - 1000;
    const data = [
      { s: 'A', p: 1, t, v: 1, c: null },
      { s: 'A', p: 0, t, v: 1 },
      { s: 'A', p: -1, t, v: 1 },
      { s: 'A', p: '1', t, v: 1 },
      { s: 'A', p: 1, t, v: -0.5 },
      { s: 'A', p: 1, t: t + 0.5, v: 1 },
      { s: 'A', p: 1, t: 1_000, v: 1 },
      { s: 'A', p: 1, t: NOW + 3 * 86_400_000, v: 1 },
      { s: 1, p: 1, t, v: 1 },
      { s: '', p: 1, t, v: 1 },
      { s: 'A', p: 1, t, v: 1, c: 'x' },
      { s: 'A', p: 1, t, v: 1, c: [1] },
      'trade',
      null,
      { s: 'B', p: 2.5, t, v: 0, c: ['1'] },
    ];
    const f = parseFrame(JSON.stringify({ type: 'trade', data }), false, limits, NOW);
    expect(f.kind).toBe('trade');
    if (f.kind !== 'trade') return;
    // Malformed conditions cost the field, never the trade.
    expect(f.trades.map((x) => [x.s, x.c])).toEqual([
      ['A', null],
      ['A', null],
      ['A', null],
      ['B', ['1']],
    ]);
    expect(f.rejects).toEqual({ price: 3, volume: 1, time: 2, future: 1, symbol: 2, not_object: 2 });
    expect(f.fixes).toEqual({ conditions_dropped: 2 });
  });

  it('refuses trades of symbols outside the allow-list (the subscriptions) and too far ahead', () => {
    const t = NOW - 1000;
    const data = [
      { s: 'A', p: 1, t, v: 1 },
      { s: 'Z', p: 1, t, v: 1 },
      { s: 'A', p: 1, t: NOW + 61_000, v: 1 },
    ];
    const rules = { ...limits, acceptance: { symbols: new Set(['A']), maxFutureSkewMs: 60_000 } };
    const f = parseFrame(JSON.stringify({ type: 'trade', data }), false, rules, NOW);
    expect(f.kind === 'trade' && [f.trades.length, f.rejects]).toEqual([1, { unsubscribed: 1, future: 1 }]);
  });
});

describe('splitBySymbol', () => {
  it('groups per symbol keeping frame order within each symbol', () => {
    const mk = (s: string, p: number) => ({ s, p, t: 1, v: 1, c: null });
    const out = splitBySymbol([mk('A', 1), mk('B', 2), mk('A', 3), mk('C', 4), mk('B', 5)]);
    expect([...out.keys()]).toEqual(['A', 'B', 'C']);
    expect(out.get('A')!.map((t) => t.p)).toEqual([1, 3]);
    expect(out.get('B')!.map((t) => t.p)).toEqual([2, 5]);
  });
});
