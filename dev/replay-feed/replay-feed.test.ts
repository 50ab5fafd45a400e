import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { Market } from './market.ts';
import { parseRecordedLine, readRecording } from './recording.ts';
import { type ReplayFeed, startReplayFeed } from './server.ts';

describe('Market', () => {
  it('is reproducible from its seed and makes realistic frames', () => {
    const a = new Market({ seed: 7 }).frames(1_700_000_000_000, 5_000, ['BINANCE:BTCUSDT', 'AAPL', 'X:Y']);
    const b = new Market({ seed: 7 }).frames(1_700_000_000_000, 5_000, ['BINANCE:BTCUSDT', 'AAPL', 'X:Y']);
    expect(a).toEqual(b);
    const trades = a.flatMap((f) => f.data);
    expect(trades).toHaveLength(5_000);
    expect(a.some((f) => f.data.length > 1)).toBe(true);
    expect(a.some((f) => new Set(f.data.map((d) => d.s)).size > 1)).toBe(true);
    for (const t of trades) {
      expect(t.p).toBeGreaterThan(0);
      expect(Number.isFinite(t.p)).toBe(true);
      expect(t.v).toBeGreaterThanOrEqual(0);
      expect(Number.isInteger(t.t)).toBe(true);
      expect(t.c === null || Array.isArray(t.c)).toBe(true);
    }
    expect(trades.filter((t) => t.s === 'AAPL').every((t) => Array.isArray(t.c))).toBe(true);
    expect(trades.filter((t) => t.s.includes(':')).every((t) => t.c === null)).toBe(true);
    expect(trades.some((t) => t.v === 0)).toBe(true);
    // Same-millisecond trades of one symbol inside one frame.
    const sameMs = a.some((f) =>
      f.data.some((d, i) => f.data.some((e, j) => j > i && e.s === d.s && e.t === d.t)),
    );
    expect(sameMs).toBe(true);
  });
});

describe('recording lines', () => {
  it('reads bare frames and envelopes, skips everything else', () => {
    expect(parseRecordedLine('{"type":"trade","data":[{"s":"A","p":1,"t":2,"v":3}]}')).toEqual({
      frame: { type: 'trade', data: [{ s: 'A', p: 1, t: 2, v: 3, c: null }] },
    });
    expect(parseRecordedLine('{"at":5,"conn":1,"frame":{"type":"trade","data":[]}}')).toEqual({
      at: 5,
      conn: 1,
      frame: { type: 'trade', data: [] },
    });
    expect(parseRecordedLine('{"type":"ping"}')).toBeUndefined();
    expect(parseRecordedLine('not json')).toBeUndefined();
    expect(parseRecordedLine('# comment')).toBeUndefined();
  });
});

interface TestClient {
  ws: WebSocket;
  messages: unknown[];
  waitFor(pred: (msgs: unknown[]) => boolean): Promise<void>;
}

async function connect(url: string): Promise<TestClient> {
  const ws = new WebSocket(url);
  const messages: unknown[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (m) => {
    messages.push(JSON.parse(m.toString()));
    for (const w of waiters.splice(0)) w();
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    async waitFor(pred) {
      while (!pred(messages)) await new Promise<void>((r) => waiters.push(r));
    },
  };
}

describe('replay feed server', () => {
  let feed: ReplayFeed | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    await feed?.close();
    feed = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('serves the shared probes on its websocket port and answers other HTTP with 426', async () => {
    feed = await startReplayFeed({ tradesPerSecond: 0 });
    const base = feed.url.replace('ws://', 'http://');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready', reasons: [] });
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    expect((await fetch(`${base}/`)).status).toBe(426);
  });

  it('sends trades only for subscribed symbols, pings, and records what it sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'feed-'));
    dirs.push(dir);
    const recordFile = join(dir, 'rec.jsonl');
    feed = await startReplayFeed({
      tradesPerSecond: 2_000,
      tickMs: 5,
      pingIntervalMs: 30,
      recordInMemory: true,
      recordFile,
    });
    const c = await connect(`${feed.url}?token=abc`);
    c.ws.send(JSON.stringify({ type: 'subscribe', symbol: 'BINANCE:BTCUSDT' }));
    c.ws.send(JSON.stringify({ type: 'subscribe', symbol: 'AAPL' }));
    const trades = (m: unknown[]) =>
      m.filter(
        (x): x is { type: 'trade'; data: { s: string }[] } => (x as { type: string }).type === 'trade',
      );
    await c.waitFor((m) => trades(m).flatMap((f) => f.data).length >= 200);
    await c.waitFor((m) => m.some((x) => (x as { type: string }).type === 'ping'));
    c.ws.close();
    await new Promise((r) => c.ws.once('close', r));
    const symbols = new Set(trades(c.messages).flatMap((f) => f.data.map((d) => d.s)));
    expect([...symbols].sort()).toEqual(['AAPL', 'BINANCE:BTCUSDT']);
    expect(feed.tokensSeen).toEqual(['abc']);
    // Ground truth equals what the client got, frame for frame.
    expect(feed.sent.map((s) => s.frame)).toEqual(trades(c.messages));
    await feed.close();
    const recorded = await readRecording(recordFile);
    expect(recorded.map((r) => r.frame)).toEqual(feed.sent.map((s) => s.frame));
    feed = undefined;
  });

  it("sends a tick's frames in one socket write, each still its own message", async () => {
    // Counted on the server's side of the connection: without the cork every frame was a write of its own.
    const writes = { n: 0 };
    const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>;
    const count = (name: '_write' | '_writev') => {
      const original = proto[name];
      return vi.spyOn(proto, name).mockImplementation(function (this: Socket, ...args: unknown[]) {
        if (feed && this.localPort === feed.port) writes.n++;
        return original.apply(this, args);
      });
    };
    const spies = [count('_write'), count('_writev')];
    try {
      feed = await startReplayFeed({ tradesPerSecond: 20_000, tickMs: 50, recordInMemory: true });
      const c = await connect(feed.url);
      c.ws.send(JSON.stringify({ type: 'subscribe', symbol: 'BINANCE:BTCUSDT' }));
      await c.waitFor(() => feed!.sent.length >= 400);
      const frames = feed.sent.length;
      const sentWrites = writes.n;
      await c.waitFor((m) => m.length >= frames);
      c.ws.close();
      // ~100 frames a tick; a write per tick (plus the handshake and a straggler) is well under one in ten.
      expect(sentWrites).toBeLessThan(frames / 10);
      expect(c.messages.slice(0, frames)).toEqual(feed.sent.slice(0, frames).map((s) => s.frame));
    } finally {
      for (const s of spies) s.mockRestore();
    }
  });

  it('refuses symbols beyond the limit and invalid symbols with Finnhub error frames', async () => {
    feed = await startReplayFeed({ maxSymbols: 2, tradesPerSecond: 0 });
    const c = await connect(feed.url);
    for (const s of ['A', 'B', 'C', 'INVALID1']) c.ws.send(JSON.stringify({ type: 'subscribe', symbol: s }));
    await c.waitFor((m) => m.length >= 2);
    expect(c.messages).toEqual([
      { msg: 'Subscribing to too many symbols', type: 'error' },
      { msg: 'Invalid symbol INVALID1', type: 'error' },
    ]);
    expect(feed.subscriptions()).toEqual([['A', 'B']]);
    c.ws.send(JSON.stringify({ type: 'unsubscribe', symbol: 'A' }));
    c.ws.send('garbage');
    c.ws.send(JSON.stringify({ type: 'subscribe', symbol: 'C' }));
    c.ws.send(JSON.stringify({ type: 'subscribe', symbol: 'D' }));
    await c.waitFor((m) => m.length >= 3);
    expect(feed.subscriptions()).toEqual([['B', 'C']]);
    c.ws.terminate();
  });

  it('rejects connections with a chosen status and drops connections gracefully', async () => {
    feed = await startReplayFeed({ tradesPerSecond: 0 });
    feed.rejectConnections(1, 429, 3);
    const ws = new WebSocket(feed.url);
    const status = await new Promise<number>((resolve) =>
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(429);
    ws.on('error', () => {});
    ws.terminate();
    const c = await connect(feed.url);
    const closed = new Promise<number>((r) => c.ws.once('close', (code) => r(code)));
    feed.dropConnections();
    expect(await closed).toBe(1001);
    expect(feed.stats.rejected).toBe(1);
  });

  it('replays a recording in order, paced by the rate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'feed-'));
    dirs.push(dir);
    const file = join(dir, 'in.jsonl');
    const frames = Array.from({ length: 20 }, (_, i) => ({
      type: 'trade',
      data: [{ s: 'S', p: 1 + i, t: 1_700_000_000_000 + i, v: 1, c: null }],
    }));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, `${frames.map((f) => JSON.stringify(f)).join('\n')}\n{"type":"ping"}\n`);
    feed = await startReplayFeed({ replayFile: file, tradesPerSecond: 1_000, tickMs: 5, rebaseTime: false });
    const c = await connect(feed.url);
    c.ws.send(JSON.stringify({ type: 'subscribe', symbol: 'S' }));
    await c.waitFor((m) => m.length >= 20);
    expect(c.messages).toEqual(frames);
    expect(readFileSync(file, 'utf8')).toContain('"p":20');
    c.ws.terminate();
  });
});
