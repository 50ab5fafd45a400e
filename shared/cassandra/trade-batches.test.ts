import type cassandra from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import type { Trade } from '../contract/types.ts';
import { chunkByBytes, MAX_BATCH_BYTES, MarketStore, tradeRowBytes, WIDEST_TRADE } from './market-store.ts';

/** A client that records what writeTrades sends: one entry per request, with its statements. */
function recordingClient() {
  const requests: { query: string; params: unknown[] }[][] = [];
  const client = {
    execute: async (query: string, params: unknown[]) => {
      requests.push([{ query, params }]);
      return { rows: [] };
    },
    batch: async (qs: { query: string; params: unknown[] }[]) => {
      requests.push(qs);
      return { rows: [] };
    },
  } as unknown as cassandra.Client;
  return { client, requests };
}

const store = (client: cassandra.Client) =>
  new MarketStore(client, { tradeTtlS: 3600, appliedEventTtlS: 3600 });

describe('writeTrades sends an event in as few requests as fit one batch', () => {
  it('a coalesced event of 81 trades over two seconds is one request (rows and price_seconds together)', async () => {
    const { client, requests } = recordingClient();
    const t0 = Date.UTC(2026, 10, 22, 10, 0, 1, 500);
    const trades: Trade[] = Array.from({ length: 81 }, (_x, i) => ({
      s: 'BINANCE:BTCUSDT',
      p: 100 + i,
      t: t0 + i * 10,
      v: 0.1,
      c: ['1'],
    }));
    await store(client).writeTrades('01JD0000000000000000000000', trades, t0 + 900, 'batch');
    expect(requests).toHaveLength(1);
    const rows = requests[0]!.filter((q) => q.query.includes('trades_10s'));
    const seconds = requests[0]!.filter((q) => q.query.includes('price_seconds'));
    expect([rows.length, seconds.length]).toEqual([81, 2]);
  });

  it('the largest event the contract allows is split below the batch limit, every row sent once', async () => {
    const { client, requests } = recordingClient();
    const t0 = Date.UTC(2026, 10, 22, 10, 0, 9, 0);
    const widest: Trade[] = Array.from({ length: 500 }, (_x, i) => ({ ...WIDEST_TRADE, t: t0 + i * 5 }));
    const id = 'E'.repeat(40);
    await store(client).writeTrades(id, widest, t0, 'batch');
    const rows = requests.flat().filter((q) => q.query.includes('trades_10s'));
    expect(rows.map((q) => q.params[4])).toEqual(widest.map((_t, i) => i));
    const rowBytes = tradeRowBytes(widest[0]!, id);
    for (const r of requests) {
      const bytes = r.reduce((n, q) => n + (q.query.includes('trades_10s') ? rowBytes : 300), 0);
      expect(bytes).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    }
    expect(requests.length).toBeGreaterThan(1);
  });
});

describe('chunkByBytes', () => {
  it('keeps order, closes a run before it would pass the limit, and leaves an oversized item alone', () => {
    expect(chunkByBytes([3, 3, 3, 9, 1], (x) => x, 6)).toEqual([[3, 3], [3], [9], [1]]);
    expect(chunkByBytes([], (x: number) => x, 6)).toEqual([]);
  });
});
