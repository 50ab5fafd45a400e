import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { MarketStore } from '../shared/cassandra/market-store.ts';
import { toHttpBinary } from '../shared/contract/event.ts';
import { loadMarketConfig } from '../shared/market/config.ts';
import { batch } from '../test/market-fixtures.ts';
import minuteWindow from './minute-window/function.ts';
import tradeWriter from './trade-writer/function.ts';

// The deployed definitions, not the handlers: every shared market setting must reach the handler they build
// (the one acceptance rule includes the future-skew limit).
describe.each([tradeWriter, minuteWindow])('$name as deployed', (definition) => {
  it('takes MAX_FUTURE_SKEW_S from the settings, as the bridge does', () => {
    // 60 s ahead: refused by the 10 s default, accepted under a configured 120 s.
    const market = loadMarketConfig({ MAX_FUTURE_SKEW_S: '120' });
    const fn = definition.configure({})({ store: {} as MarketStore, market, registry: new Registry() });
    const { headers, body } = toHttpBinary(batch('AAPL', [{ t: Date.now() + 60_000, p: 1, v: 1 }]));
    expect(() => fn.decode(headers, body)).not.toThrow();
  });
});
