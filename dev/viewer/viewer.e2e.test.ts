import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type cassandra from 'cassandra-driver';
import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERTS } from '../../alerts/catalogue.ts';
import { minuteFinalizer } from '../../functions/minute-finalizer/handler.ts';
import { rollupAfterMinute } from '../../functions/minute-finalizer/rollups.ts';
import { minuteWindow } from '../../functions/minute-window/handler.ts';
import { TRADE_WRITER_METRICS, tradeWriter } from '../../functions/trade-writer/handler.ts';
import { createCassandraClient } from '../../shared/cassandra/client.ts';
import { RollupStore } from '../../shared/cassandra/rollup-store.ts';
import { toHttpBinary } from '../../shared/contract/event.ts';
import type { Trade } from '../../shared/contract/types.ts';
import { createFunctionHost, type FunctionHost } from '../../shared/host/server.ts';
import { dayOf, MINUTE_MS, minuteOf } from '../../shared/market/time.ts';
import { createRegistry, registerMetrics } from '../../shared/observability/metrics.ts';
import { probesPlugin } from '../../shared/observability/probes.ts';
import { createTestKeyspace, type TestKeyspace } from '../../test/cassandra.ts';
import { repoRoot } from '../../test/fixtures.ts';
import { allMetrics, batch, quietLog } from '../../test/market-fixtures.ts';
import { DISPATCHER_METRICS } from '../dispatcher/kafka-source.ts';
import { bundleAssets } from './bundle.ts';
import { createViewerServer } from './server.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(repoRoot, 'test-artifacts');
const BTC = 'BINANCE:BTCUSDT';
const ETH = 'BINANCE:ETHUSDT';
// Closed minutes M0 .. M0+7 (finalized), an open minute M0+8 with two trades; all inside the 15-minute window.
const M0 = minuteOf(Date.now()) - 10 * MINUTE_MS;
const OPEN = M0 + 8 * MINUTE_MS;

/** A deterministic random walk: `n` batches of 1-3 trades per minute. */
function market(startPrice: number, minutes: number, seed: number): Omit<Trade, 's' | 'c'>[][] {
  let x = seed;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  let p = startPrice;
  const batches: Omit<Trade, 's' | 'c'>[][] = [];
  for (let m = 0; m < minutes; m += 1) {
    const n = 3 + Math.floor(rnd() * 5);
    for (let i = 0; i < n; i += 1) {
      const t = M0 + m * MINUTE_MS + Math.floor(((i + rnd()) / n) * 59_000);
      const size = 1 + Math.floor(rnd() * 3);
      batches.push(
        Array.from({ length: size }, () => {
          p = Math.round((p + (rnd() - 0.5) * startPrice * 0.002) * 100) / 100;
          return { p, t, v: Math.round(rnd() * 1e6) / 1e6 + 0.001 };
        }),
      );
    }
  }
  return batches;
}

let ks: TestKeyspace;
let client: cassandra.Client;
let hosts: FunctionHost[] = [];
let viewer: FastifyInstance;
let dispatcherMetrics: FastifyInstance;
let browser: Browser | undefined;
let page: Page;
let viewerUrl: string;
const seededAtMs = Date.now();
/** Console errors and failed requests of every page, from the first load on (issue 13 item 6: no 404). */
const browserProblems: string[] = [];

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const a = app.server.address();
  if (!a || typeof a === 'string') throw new Error('no address');
  return `http://127.0.0.1:${a.port}`;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: run 'sh dev/setup/install-chromium.sh' (apt-get install chromium) before the browser test`,
    );
  }
  ks = await createTestKeyspace('mp_viewer');
  client = createCassandraClient(ks.config, { applicationName: 'viewer-test' });

  // The real functions behind their real HTTP hosts, each with its own /metrics, as in the pipeline.
  const horizon = { finalizeHorizonS: 3 * 3600, finalizeLatenessS: 10 };
  const writerReg = createRegistry({ service: 'trade-writer' });
  const windowReg = createRegistry({ service: 'minute-window' });
  const writer = createFunctionHost(
    tradeWriter({
      store: ks.store,
      mode: 'batch',
      ...horizon,
      metrics: registerMetrics(writerReg, TRADE_WRITER_METRICS),
      symbolRefreshMs: 0,
    }),
    { log: quietLog, registry: writerReg },
  );
  const window = createFunctionHost(
    minuteWindow({
      store: ks.store,
      ...horizon,
      metrics: registerMetrics(windowReg, ['lateTrades', 'windowDuplicates', 'replayedEvents']),
    }),
    { log: quietLog, registry: windowReg },
  );
  hosts = [writer, window];
  const urls = await Promise.all(hosts.map((h) => listen(h.app)));
  // The dispatcher's metrics as it exposes them at start (registered, nothing dead-lettered yet).
  dispatcherMetrics = Fastify();
  const dispatcherReg = createRegistry({ service: 'dispatcher' });
  registerMetrics(dispatcherReg, DISPATCHER_METRICS);
  await dispatcherMetrics.register(probesPlugin, { registry: dispatcherReg });
  const dispatcherUrl = await listen(dispatcherMetrics);

  const seeds: [string, Omit<Trade, 's' | 'c'>[][]][] = [
    [
      BTC,
      [
        ...market(97_000, 8, 7),
        [{ p: 97_100, t: OPEN + 2_000, v: 0.5 }],
        [{ p: 97_300, t: OPEN + 9_000, v: 0.25 }],
      ],
    ],
    [ETH, market(3_400, 4, 11)],
  ];
  for (const [symbol, batches] of seeds) {
    for (const b of batches) {
      const { headers, body } = toHttpBinary(batch(symbol, b));
      for (const url of urls) {
        const res = await fetch(url, { method: 'POST', headers, body: new Uint8Array(body) });
        expect(res.status).toBe(204);
      }
    }
  }
  const finalizer = minuteFinalizer({
    store: ks.store,
    ...horizon,
    counterRetentionS: 86_400,
    metrics: allMetrics(),
    now: () => OPEN + 30_000,
    afterMinute: rollupAfterMinute({
      rollups: new RollupStore(ks.client),
      requestFinalize: (s, m, o) => ks.store.requestFinalize(s, m, o),
    }),
  });
  expect(await finalizer.run()).toMatchObject({ finalized: 8 + 4 });

  viewer = createViewerServer({
    client,
    log: quietLog,
    registry: createRegistry(),
    config: {
      windowS: 900,
      pollMs: 500,
      scrapeUrls: [...urls, dispatcherUrl].map((u) => `${u}/metrics`),
      scrapeTimeoutMs: 2000,
      symbols: [ETH, BTC], // configured order: ETH is the default symbol
    },
    assets: await bundleAssets(),
  });
  viewerUrl = await listen(viewer);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-gpu',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  page = await newPage();
  await page.goto(`${viewerUrl}/?symbol=${encodeURIComponent(BTC)}`);
});

async function newPage(): Promise<Page> {
  const p = await browser!.newPage({ viewport: { width: 1400, height: 1100 } });
  p.on('console', (m) => {
    if (m.type() === 'error') browserProblems.push(`console: ${m.text()}`);
  });
  p.on('response', (r) => {
    if (r.status() >= 400) browserProblems.push(`HTTP ${r.status()} ${r.url()}`);
  });
  p.on('pageerror', (e) => browserProblems.push(`page error: ${e.message}`));
  return p;
}

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  await dispatcherMetrics?.close();
  for (const h of hosts) await h.close();
  await client?.shutdown();
  await ks?.drop();
});

// ---- ground truth, read with our own CQL (not the catalogue's) ----------------------------------------

/** The price line's rows: today's (UTC) price_seconds partition, newest first; the viewer reads the same day. */
async function priceSeconds(symbol: string) {
  const rs = await client.execute(
    'SELECT second, price FROM price_seconds WHERE symbol = ? AND day = ?',
    [symbol, new Date(dayOf(Date.now()))],
    { prepare: true },
  );
  return rs.rows.map((r) => ({ t: (r.second as Date).getTime(), p: r.price as number }));
}

/** Every stored trade row of the seeded minutes (trades_10s, through MarketStore), newest first. */
async function tradeRows(symbol: string) {
  const minutes = Array.from({ length: 9 }, (_x, i) => M0 + i * MINUTE_MS);
  const rows = (await Promise.all(minutes.map((m) => ks.store.minuteTrades(symbol, m)))).flat();
  return rows.map((r) => ({ t: r.tradeTime, p: r.price, v: r.volume })).reverse();
}

async function candleRows(symbol: string, resolution = '1m') {
  const rs = await client.execute(
    `SELECT minute, open, high, low, close, vwap, trades FROM candles_${resolution} WHERE symbol = ?`,
    [symbol],
    { prepare: true },
  );
  return rs.rows.map((r) => ({
    minute: (r.minute as Date).getTime(),
    open: r.open as number,
    high: r.high as number,
    low: r.low as number,
    close: r.close as number,
    vwap: r.vwap as number,
    trades: Number(r.trades),
  }));
}

async function liveRows(symbol: string) {
  const rs = await client.execute('SELECT minute, trades FROM minute_live WHERE symbol = ?', [symbol], {
    prepare: true,
  });
  return rs.rows.map((r) => ({ minute: (r.minute as Date).getTime(), trades: Number(r.trades) }));
}

// ---- what the page shows ------------------------------------------------------------------------------

/** Waits (no timing assertion) until the page has drawn `symbol` (at `resolution`) at least `n` times more. */
async function drawn(symbol: string, n = 1, resolution = '1m', on: Page = page) {
  const start = await on.evaluate(() =>
    Number(document.querySelector('#status')!.getAttribute('data-updates')),
  );
  await on.waitForFunction(
    ([s, target, r]) => {
      const el = document.querySelector('#status') as HTMLElement;
      return (
        el.dataset.symbol === s &&
        el.dataset.resolution === r &&
        Number(el.dataset.updates) >= (target as number)
      );
    },
    [symbol, start + n, resolution] as const,
  );
}

const data = (sel: string, key: string) =>
  page.$eval(sel, (el, k) => (el as HTMLElement).dataset[k as string] ?? null, key);
const json = async <T>(sel: string, key: string) => JSON.parse((await data(sel, key)) ?? 'null') as T;
const tableRows = () =>
  page.$$eval('[data-panel="pastMinutes"] tbody tr', (trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')),
  );
const money = (v: number) =>
  `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const sec = (ms: number) => Math.floor(ms / 1000);

async function expectPanelsMatch(symbol: string) {
  const seconds = await priceSeconds(symbol); // newest first
  const stored = await tradeRows(symbol);
  // One point per second; a run in the first minutes after midnight UTC sees only today's part (PRICE_DAY).
  const pricePoints = await json<[number, number][]>('[data-panel="price"]', 'series');
  expect(pricePoints).toEqual(seconds.map((s) => [sec(s.t), s.p]).reverse());
  expect(Number(await data('[data-panel="price"]', 'ticks'))).toBe(seconds.length);
  if (seconds.length > 0) expect(Number(await data('[data-panel="price"]', 'last'))).toBe(seconds[0]!.p);
  expect(Number(await data('[data-panel="volume"]', 'total'))).toBeCloseTo(
    stored.reduce((a, t) => a + t.v, 0),
    6,
  );

  const live = await liveRows(symbol);
  expect(await json('[data-panel="tradesPerMinute"]', 'series')).toEqual(
    live.map((r) => [sec(r.minute), r.trades]).reverse(),
  );
  expect(live.reduce((a, r) => a + r.trades, 0)).toBe(stored.length);

  const candles = await candleRows(symbol); // newest first
  const drawnCandles = await json<{ candles: number[][]; vwap: number[][] }>(
    '[data-panel="candles"]',
    'series',
  );
  expect(drawnCandles.candles).toEqual(
    candles.map((c) => [sec(c.minute), c.open, c.high, c.low, c.close]).reverse(),
  );
  expect(drawnCandles.vwap).toEqual(candles.map((c) => [sec(c.minute), c.vwap]).reverse());

  const rows = await tableRows();
  expect(rows.map((r) => [r[0], r[1], r[4], r[7]])).toEqual(
    candles.map((c) => [hhmm(c.minute), money(c.open), money(c.close), String(c.trades)]),
  );

  const newestMinute = live[0]!;
  const inNewest = stored.filter((t) => minuteOf(t.t) === newestMinute.minute);
  if (seconds.length > 0)
    expect(Number(await data('#stats [data-panel="lastTrade"]', 'value'))).toBe(stored[0]!.p);
  expect(Number(await data('#stats [data-panel="minuteTradeCount"]', 'value'))).toBe(inNewest.length);
  expect(Number(await data('#stats [data-panel="minuteAvgPrice"]', 'value'))).toBeCloseTo(
    inNewest.reduce((a, t) => a + t.p, 0) / inNewest.length,
    6,
  );
  return { stored, candles };
}

describe('viewer in headless Chromium on the real Cassandra and the real function hosts', () => {
  it('serves health, readiness and metrics, and refuses a malformed symbol', async () => {
    expect((await fetch(`${viewerUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${viewerUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${viewerUrl}/api/view?symbol=${encodeURIComponent('a b')}`)).status).toBe(400);
    await fetch(`${viewerUrl}/api/view?symbol=${encodeURIComponent(BTC)}`);
    expect(await (await fetch(`${viewerUrl}/metrics`)).text()).toMatch(
      /mp_viewer_query_duration_seconds_count\{panel="price"[^}]*\} [1-9]/,
    );
  });

  it('lists the symbols and shows every panel consistent with what is stored', async () => {
    await drawn(BTC, 2); // two polls: the health strip has two scrapes to take rates from
    expect(
      await page.$$eval('#symbol option', (os) => os.map((o) => (o as HTMLOptionElement).value)),
    ).toEqual([ETH, BTC]); // the configured symbols, in their configured order
    const { candles } = await expectPanelsMatch(BTC);
    expect(candles).toHaveLength(8);
    expect(await data('#stats [data-panel="minuteTradeCount"]', 'value')).toBe('2');
    expect(Number(await data('#stats [data-panel="minuteAvgPrice"]', 'value'))).toBeCloseTo(97_200, 6);
  });

  it('shows pipeline health from the functions’ /metrics and from Cassandra', async () => {
    await drawn(BTC, 1);
    type V = { label: string; value: number | null }[];
    const rate = await json<V>('[data-panel="tradesPerSecond"]', 'values');
    expect(rate[0]!.value).toEqual(expect.any(Number)); // trades stopped before both scrapes: a real 0
    const latency = await json<V>('[data-panel="pipelineLatency"]', 'values');
    expect(latency.map((v) => v.label)).toEqual(['p50', 'p99']);
    for (const v of latency) expect(v.value).toBeGreaterThan(0);
    expect(latency[1]!.value!).toBeGreaterThanOrEqual(latency[0]!.value!);
    // Sensible precision: at most two decimals for a rate (it showed 18.7075).
    expect(await page.textContent('[data-panel="tradesPerSecond"] .value')).toMatch(/^[\d,]+(\.\d{1,2})?$/);
    // The dispatcher is scraped and has dead-lettered nothing: 0, not "not exposed yet".
    expect((await json<V>('[data-panel="deadLetters"]', 'values'))[0]!.value).toBe(0);
    expect(await page.textContent('[data-panel="deadLetters"] .value')).toBe('0');
    expect(await page.textContent('[data-panel="deadLetters"] .sub')).toBe('');
    const age = (await json<V>('[data-panel="lastTradeAge"]', 'values'))[0]!.value!;
    expect(age).toBeGreaterThanOrEqual((seededAtMs - (OPEN + 9_000)) / 1000);
    // The alert conditions of the cluster's PrometheusRule, one chip each (alerts/catalogue.ts).
    const chips = await page.$$eval('#alerts [data-alert]', (els) =>
      els.map((e) => [(e as HTMLElement).dataset.alert, (e as HTMLElement).dataset.state]),
    );
    expect(chips.map(([name]) => name)).toEqual(ALERTS.map((a) => a.name));
    const state = Object.fromEntries(chips);
    expect(state.MarketCassandraDown).toBe('ok'); // every query answered
    expect(state.MarketProcessRestarting).toBe('ok'); // three function hosts scraped, none restarted
    expect(state.MarketKafkaDown).toBe('unknown'); // no bridge is scraped here
    expect(state.MarketDeadLetters).toBe('ok'); // the dispatcher is scraped: none

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'viewer.png'), fullPage: true });
  });

  it('switches symbol and shows the other symbol’s data', async () => {
    await page.selectOption('#symbol', ETH);
    await drawn(ETH, 1);
    const { stored, candles } = await expectPanelsMatch(ETH);
    expect(candles).toHaveLength(4);
    expect(stored.every((t) => t.p < 4000)).toBe(true);
    expect(page.url()).toContain(`symbol=${encodeURIComponent(ETH)}`);
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-eth.png'), fullPage: true });
  });

  it('switches resolution: the candles and the table come from the rolled-up table', async () => {
    await page.selectOption('#symbol', BTC);
    for (const resolution of ['5m', '1h']) {
      await page.selectOption('#resolution', resolution);
      await drawn(BTC, 1, resolution);
      expect(page.url()).toContain(`resolution=${resolution}`);
      const stored = await candleRows(BTC, resolution); // newest first
      expect(stored.length).toBeGreaterThan(0);
      const drawnCandles = await json<{ candles: number[][] }>('[data-panel="candles"]', 'series');
      expect(drawnCandles.candles).toEqual(
        stored.map((c) => [sec(c.minute), c.open, c.high, c.low, c.close]).reverse(),
      );
      expect(await page.textContent('[data-panel="candles"] h2')).toBe(`Candles (${resolution}) with VWAP`);
      const rows = await tableRows();
      expect(rows.map((r) => [r[1], r[4], r[7]])).toEqual(
        stored.map((c) => [money(c.open), money(c.close), String(c.trades)]),
      );
      // One or two candles are drawn at a readable width, not stretched over the chart.
      if (stored.length < 30) expect(await data('[data-panel="candles"]', 'visibleBars')).toBe('30');
    }
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-1h.png'), fullPage: true });
    await page.selectOption('#resolution', '1m');
    await drawn(BTC, 1, '1m');
  });

  it('opens with the first configured symbol when none is asked for', async () => {
    const fresh = await newPage();
    await fresh.goto(`${viewerUrl}/`);
    await drawn(ETH, 1, '1m', fresh);
    expect(await fresh.$eval('#symbol', (s) => (s as HTMLSelectElement).value)).toBe(ETH);
    await fresh.close();
  });

  it('opens the overview: every symbol in one row, most turnover first, consistent with what is stored', async () => {
    await page.click('#to-overview');
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-panel="overview"]') as HTMLElement | null;
      return Boolean(el?.dataset.rows);
    });
    type Row = { symbol: string; lastPrice: number; trades1h: number; turnover1h: number; staleS: number };
    const rows = await json<Row[]>('[data-panel="overview"]', 'rows');
    expect(rows.map((r) => r.symbol)).toEqual([BTC, ETH]); // BTC traded far more dollars
    for (const r of rows) {
      const stored = await tradeRows(r.symbol); // newest first
      expect(r.lastPrice).toBe(stored[0]!.p);
      const hourAgo = Date.now() - 3_600_000;
      expect(r.trades1h).toBe(stored.filter((t) => minuteOf(t.t) > hourAgo).length);
      expect(r.staleS).toBeGreaterThan(0);
    }
    const cells = await page.$$eval('[data-panel="overview"] tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')),
    );
    expect(cells.map((c) => c[0])).toEqual([BTC, ETH]);
    expect(cells[0]![1]).toBe(money(rows[0]!.lastPrice));
    expect(cells[0]![7]).toMatch(/ago$/);
    expect(cells[0]![4]).toBe(rows[0]!.trades1h.toLocaleString('en-US')); // a count, no decimals
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-overview.png'), fullPage: true });
  });

  it('no page logged a console error or got an HTTP error (no 404)', () => {
    expect(browserProblems).toEqual([]);
  });
});
