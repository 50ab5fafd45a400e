import { existsSync, readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { MarketStore } from '../shared/cassandra/market-store.ts';
import { toHttpBinary } from '../shared/contract/event.ts';
import { loadMarketConfig } from '../shared/market/config.ts';
import { batch } from '../test/market-fixtures.ts';
import { FUNCTIONS } from './definitions.ts';
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

// Each function folder reads like a function template: handler, its unit test beside it, the definition, and a
// README whose event contract names what comes in, every answer and why a redelivery is harmless.
describe.each(Object.keys(FUNCTIONS))('functions/%s as a template', (name) => {
  const dir = new URL(`./${name}/`, import.meta.url);
  it('has handler.ts, handler.test.ts and function.ts', () => {
    for (const f of ['handler.ts', 'handler.test.ts', 'function.ts'])
      expect(existsSync(new URL(f, dir)), f).toBe(true);
  });
  it('documents its event contract: input, answers (2xx, 4xx poison, 5xx retried), idempotency', () => {
    const readme = readFileSync(new URL('README.md', dir), 'utf8');
    const contract = readme.split('## Event contract')[1]?.split('\n## ')[0] ?? '';
    expect(contract).toMatch(/\*\*In\*\*: .*CloudEvent/);
    expect(contract).toMatch(/\*\*Answers\*\*: `204`/);
    expect(contract).toMatch(/`400/);
    expect(contract).toMatch(/`503`.*\(retried/s);
    expect(contract).toMatch(/\*\*Idempotency\*\*/);
  });
});
