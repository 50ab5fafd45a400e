import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ReplayFeed, startReplayFeed } from '../../dev/replay-feed/server.ts';
import { createRegistry } from '../../shared/observability/index.ts';
import { Backoff, retryAfterMs } from '../../shared/retry/backoff.ts';
import { Bridge } from './bridge.ts';
import { FeedClient, type FeedClientOptions, type FeedEvent } from './feed-client.ts';
import type { ParsedFrame } from './frame.ts';
import { captureLogger, MemorySink, testConfig, until } from './test-helpers.ts';

describe('Backoff', () => {
  it('grows exponentially with equal jitter up to the cap, and resets', () => {
    const lo = new Backoff({ initialMs: 100, maxMs: 1_000 }, () => 0);
    expect([1, 2, 3, 4, 5, 6].map(() => lo.next())).toEqual([50, 100, 200, 400, 500, 500]);
    const hi = new Backoff({ initialMs: 100, maxMs: 1_000 }, () => 0.999_999);
    expect([1, 2, 3, 4, 5].map(() => hi.next())).toEqual([100, 200, 400, 800, 1_000]);
    hi.reset();
    expect(hi.next()).toBe(100);
    expect(lo.max()).toBe(500);
  });
  it('parses Retry-After', () => {
    expect(retryAfterMs('7')).toBe(7_000);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT'))).toBe(
      60_000,
    );
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});

describe('FeedClient against the replay feed', () => {
  let feed: ReplayFeed | undefined;
  let client: FeedClient | undefined;
  afterEach(async () => {
    await client?.stop();
    await feed?.close();
    client = undefined;
    feed = undefined;
  });

  const startClient = (over: Partial<FeedClientOptions> & { url: string }) => {
    const events: FeedEvent[] = [];
    const frames: ParsedFrame[] = [];
    const cap = captureLogger();
    client = new FeedClient({
      symbols: ['BINANCE:BTCUSDT', 'AAPL', 'MSFT'],
      maxSymbols: 50,
      backoff: { initialMs: 20, maxMs: 100 },
      rateLimitBackoffMs: 150,
      watchdogMs: 60_000,
      connectTimeoutMs: 2_000,
      maxFrameBytes: 1 << 20,
      logger: cap.logger,
      onFrame: (f) => frames.push(f),
      onEvent: (e) => events.push(e),
      ...over,
    });
    client.start();
    return { client, events, frames, log: cap };
  };
  const closes = (events: FeedEvent[]) =>
    events.filter((e): e is Extract<FeedEvent, { type: 'close' }> => e.type === 'close');

  it('reconnects after server-side drops and resubscribes every symbol', async () => {
    feed = await startReplayFeed({ tradesPerSecond: 500, tickMs: 5 });
    const f = feed;
    const c = startClient({ url: f.url });
    for (let drop = 1; drop <= 3; drop++) {
      await until(() => f.subscriptions()[0]?.length === 3 && c.frames.length > 0);
      c.frames.length = 0;
      f.dropConnections();
      await until(() => f.stats.connections === drop + 1);
    }
    await until(() => f.subscriptions()[0]?.length === 3 && c.frames.some((x) => x.kind === 'trade'));
    expect(f.subscriptions()[0]!.sort()).toEqual(['AAPL', 'BINANCE:BTCUSDT', 'MSFT']);
    expect(closes(c.events).map((e) => e.reason)).toEqual(['closed', 'closed', 'closed']);
    expect(c.log.text()).toContain('BRIDGE_FEED_CLOSED');
  });

  it('reconnects when the feed goes silent (watchdog), and pings count as life', {
    timeout: 20_000,
  }, async () => {
    feed = await startReplayFeed({ tradesPerSecond: 0, pingIntervalMs: 50 });
    const f = feed;
    const c = startClient({ url: f.url, watchdogMs: 1_000 });
    await until(() => c.frames.filter((x) => x.kind === 'ping').length >= 30);
    expect(closes(c.events)).toEqual([]); // 30 pings 50 ms apart outlast the 1 s watchdog: pings kept it alive
    f.setSilent(true);
    await until(() => closes(c.events).length > 0);
    expect(closes(c.events)[0]!.reason).toBe('watchdog');
    f.setSilent(false);
    await until(() => f.stats.connections >= 2 && f.subscriptions()[0]?.length === 3);
    expect(c.log.text()).toContain('BRIDGE_FEED_SILENT');
  });

  it('waits at least the rate-limit backoff (or Retry-After) after HTTP 429, and the maximum after 401', async () => {
    feed = await startReplayFeed({ tradesPerSecond: 0, requireToken: 'right-token-123' });
    const f = feed;
    f.rejectConnections(1, 429, 1);
    const c = startClient({ url: f.url, token: 'wrong-token-456' });
    await until(() => closes(c.events).length >= 2);
    const [first, second] = closes(c.events);
    expect(first!.reason).toBe('rate_limited');
    expect(first!.delayMs).toBeGreaterThanOrEqual(1_000); // Retry-After 1 s beats the 150 ms floor
    expect(second!.reason).toBe('auth');
    expect(second!.delayMs).toBeGreaterThanOrEqual(50); // max backoff ceiling 100 ms, equal jitter
    expect(c.log.text()).toContain('BRIDGE_FEED_RATE_LIMITED');
    expect(c.log.text()).toContain('BRIDGE_FEED_AUTH_REJECTED');
    expect(c.log.text()).not.toContain('wrong-token-456');
  });

  it('surfaces "too many symbols" with the refused symbols and does not resubscribe them', async () => {
    feed = await startReplayFeed({ tradesPerSecond: 100, maxSymbols: 2 });
    const f = feed;
    const c = startClient({ url: f.url, symbols: ['A', 'B', 'C', 'D', 'E'], maxSymbols: 4 });
    await until(() => c.events.filter((e) => e.type === 'feed_error').length >= 2);
    expect(c.client.subscriptions()).toEqual({
      subscribed: ['A', 'B'],
      refused: [
        { symbol: 'E', reason: 'too_many_symbols' },
        { symbol: 'D', reason: 'too_many_symbols' },
        { symbol: 'C', reason: 'too_many_symbols' },
      ],
    });
    const log = c.log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const startup = log.find((l) => l.code === 'BRIDGE_TOO_MANY_SYMBOLS' && l.limit === 4);
    expect(startup?.refused).toEqual(['E']);
    const runtime = log.filter((l) => l.code === 'BRIDGE_TOO_MANY_SYMBOLS' && l.observedLimit !== undefined);
    expect(runtime.at(-1)?.refused).toEqual(['E', 'D', 'C']);
    expect(runtime.at(-1)?.observedLimit).toBe(2);
    const subscribesBefore = f.stats.subscribes;
    f.dropConnections();
    await until(() => f.stats.connections === 2 && f.subscriptions()[0]?.length === 2);
    await until(() => f.stats.subscribes === subscribesBefore + 2);
    expect(f.subscriptions()[0]).toEqual(['A', 'B']);
    expect(c.events.filter((e) => e.type === 'feed_error').length).toBe(2);
  });
});

describe('token secrecy', () => {
  it('never puts the token in a log line, an error message or a metric', async () => {
    const token = 'fh_tok_Zq9XsecretVALUE42';
    const feed = await startReplayFeed({
      tradesPerSecond: 300,
      tickMs: 5,
      requireToken: token,
      maxSymbols: 1,
    });
    const dir = mkdtempSync(join(tmpdir(), 'token-'));
    const cap = captureLogger('debug');
    const registry = createRegistry();
    const sink = new MemorySink();
    const bridge = new Bridge({
      config: testConfig({
        FINNHUB_TOKEN: token,
        FINNHUB_SYMBOLS: 'BINANCE:BTCUSDT,AAPL',
        FINNHUB_BACKOFF_INITIAL_MS: '10',
        FINNHUB_BACKOFF_MAX_MS: '50',
        FINNHUB_RATE_LIMIT_BACKOFF_MS: '10',
        FINNHUB_WATCHDOG_MS: '300',
        BRIDGE_SPOOL_DIR: dir,
      }),
      feedUrl: `${feed.url}/?x=1`,
      logger: cap.logger,
      registry,
      sink,
    });
    try {
      feed.rejectConnections(1, 429);
      bridge.start();
      await until(() => sink.acked.length > 5);
      // Hostile feed: echoes the token in error frames and garbage; drops the socket; goes silent.
      feed.sendRaw(JSON.stringify({ type: 'error', msg: `invalid token ${token}` }));
      feed.sendRaw(JSON.stringify({ type: token, data: token }));
      feed.sendRaw(`not json ${token}`);
      feed.sendRaw(JSON.stringify({ type: 'trade', data: [{ s: 'BINANCE:BTCUSDT', p: token, t: 1, v: 1 }] }));
      feed.dropConnections(4000, `bye ${token}`.slice(0, 100));
      await until(() => feed.stats.connections >= 2);
      feed.setSilent(true);
      await until(async () => (await registry.metrics()).includes('reason="watchdog"'));
      feed.setSilent(false);
      await until(() => feed.tokensSeen.length >= 3);
      const metrics = await registry.metrics();
      await bridge.stop(2_000);
      await new Promise((r) => setImmediate(r));
      // The token did reach the feed (so the check below is meaningful) ...
      expect(feed.tokensSeen.every((t) => t === token)).toBe(true);
      expect(cap.lines.length).toBeGreaterThan(5);
      expect(metrics).toContain('mp_bridge_reconnects_total');
      expect(metrics).toContain('mp_bridge_feed_errors_total');
      // ... and nowhere else.
      expect(cap.text()).not.toContain(token);
      expect(cap.text()).not.toContain('Zq9Xsecret');
      expect(metrics).not.toContain(token);
      expect(metrics).not.toContain('Zq9Xsecret');
      expect(cap.text()).toContain('[REDACTED]');
    } finally {
      await bridge.stop(1_000);
      await feed.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
