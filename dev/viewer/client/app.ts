/**
 * The viewer page: builds one tile or chart per catalogue panel and redraws them from `/api/view` every
 * poll. Every number shown comes from the server's run of the catalogue query; what each element draws is
 * also left in `data-*` attributes so the browser test can compare it with Cassandra.
 */
import {
  CandlestickSeries,
  ColorType,
  createChart,
  HistogramSeries,
  type IChartApi,
  type ISeriesApi,
  LineSeries,
  type SeriesType,
  type UTCTimestamp,
} from 'lightweight-charts';
import { MARKET_PANELS, RESOLUTION_VARIABLE } from '../../../shared/panels/market-panels.ts';
import { OVERVIEW_COLUMNS, type OverviewRow } from '../../../shared/panels/overview.ts';
import type { CqlPanel, Unit } from '../../../shared/panels/types.ts';
import type { AlertStatus } from '../alerts.ts';
import type { HealthItem, OverviewResponse, ViewResponse } from '../server.ts';

type Result = { columns: string[]; rows: (string | number | null)[][] };
const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;
const panelById = new Map((MARKET_PANELS as readonly CqlPanel[]).map((p) => [p.id, p]));

/** Significant digits a trader reads: whole numbers when large, a few decimals when small. */
const autoDecimals = (v: number) => {
  const a = Math.abs(v);
  return a === 0 || a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : a >= 0.01 ? 4 : 8;
};
const fixed = (v: number, d: number) =>
  v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

/** A duration as people say it: 850 ms, 4.2 s, 3 min 20 s, 2 h 5 min. */
function duration(s: number): string {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function format(value: number | null | undefined, unit: Unit | string, decimals?: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  switch (unit) {
    case 'currencyUSD':
      return `$${fixed(value, decimals ?? (Math.abs(value) >= 1 ? 2 : 4))}`;
    case 's':
      return duration(value);
    case 'percent':
      return `${value > 0 ? '+' : ''}${(value * 100).toFixed(2)} %`;
    default:
      return fixed(value, decimals ?? autoDecimals(value));
  }
}
const iso = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

/** Rows of a result as objects keyed by column name. */
const objects = (r: Result) => r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));

// ---- page skeleton, from the catalogue ---------------------------------------------------------------

const STATS = ['lastTrade', 'minuteAvgPrice', 'minuteTradeCount'] as const;
const LAYOUT: readonly [string, string][] = [
  ['price', 'w8'],
  ['tradesPerMinute', 'w4'],
  ['volume', 'w12'],
  ['candles', 'w12 candles'],
  ['pastMinutes', 'w12'],
];

function tile(parent: HTMLElement, id: string, title: string, description: string): HTMLElement {
  const el = document.createElement('div');
  el.className = 'tile';
  el.dataset.panel = id;
  el.title = description;
  el.innerHTML = '<h3></h3><div class="value">—</div><div class="sub"></div>';
  el.querySelector('h3')!.textContent = title;
  parent.append(el);
  return el;
}

for (const id of STATS) {
  const p = panelById.get(id)!;
  tile($('#stats'), p.id, p.title, p.description);
}

const theme = {
  layout: { background: { type: ColorType.Solid, color: '#181b1f' }, textColor: '#d8d9da' },
  grid: { vertLines: { color: '#22252b' }, horzLines: { color: '#22252b' } },
  timeScale: { timeVisible: true, secondsVisible: true },
  autoSize: true,
} as const;

interface ChartPanel {
  el: HTMLElement;
  chart?: IChartApi;
  series: Record<string, ISeriesApi<SeriesType>>;
}
const charts = new Map<string, ChartPanel>();

for (const [id, cls] of LAYOUT) {
  const p = panelById.get(id)!;
  const el = document.createElement('section');
  el.className = `panel ${cls}`;
  el.dataset.panel = id;
  el.title = p.description;
  el.innerHTML = `<h2></h2>${p.viz === 'table' ? '<div class="table-wrap"><table></table></div>' : '<div class="chart"></div>'}<p class="foot"></p>`;
  el.querySelector('h2')!.textContent = p.title;
  el.dataset.title = p.title;
  $('#panels').append(el);
  const cp: ChartPanel = { el, series: {} };
  if (p.viz !== 'table') {
    const chart = createChart(el.querySelector('.chart') as HTMLElement, theme);
    cp.chart = chart;
    if (p.viz === 'line') cp.series.price = chart.addSeries(LineSeries, { color: '#73bf69', lineWidth: 2 });
    if (p.viz === 'bars')
      cp.series.bars = chart.addSeries(HistogramSeries, {
        color: '#5794f2',
        // Counts are whole numbers; volumes get the volume format (1.2K) rather than two fixed decimals.
        priceFormat:
          id === 'tradesPerMinute' ? { type: 'price', precision: 0, minMove: 1 } : { type: 'volume' },
      });
    if (p.viz === 'candles') {
      cp.series.candles = chart.addSeries(CandlestickSeries, {});
      cp.series.vwap = chart.addSeries(LineSeries, { color: '#ff9830', lineWidth: 2, title: 'VWAP' });
      cp.series.volume = chart.addSeries(HistogramSeries, {
        color: '#3d71d9',
        priceScaleId: 'vol',
        priceFormat: { type: 'volume' },
      });
      chart.priceScale('vol').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    }
  }
  charts.set(id, cp);
}

// ---- drawing ------------------------------------------------------------------------------------------

const sec = (ms: number) => Math.floor(ms / 1000) as UTCTimestamp;

/** Rows come newest first; lightweight-charts needs ascending points, one per time. */
function ascending(rows: Record<string, unknown>[], timeCol: string, col: string): [number, number][] {
  return rows.map((r) => [sec(r[timeCol] as number), r[col] as number] as [number, number]).reverse();
}

function setPoints(cp: ChartPanel, name: string, points: [number, number][]) {
  cp.series[name]!.setData(points.map(([time, value]) => ({ time: time as UTCTimestamp, value })));
}

let fitFor = '';
let fitsLeft = 0;

/** price_seconds: one row per second, the last trade of that second. */
function drawTicks(r: Result) {
  const rows = objects(r);
  const price = charts.get('price')!;
  const pts = ascending(rows, 'second', 'price');
  setPoints(price, 'price', pts);
  price.el.dataset.ticks = String(rows.length);
  price.el.dataset.last = rows.length ? String(rows[0]!.price) : '';
  price.el.dataset.series = JSON.stringify(pts);
  price.el.querySelector('.foot')!.textContent = rows.length
    ? `${rows.length} seconds · last ${format(rows[0]!.price as number, 'currencyUSD')} at ${iso(rows[0]!.second as number)} · the last trade of each second`
    : 'no trades in range';
}

/** minute_live: the traded volume of each minute. */
function drawVolume(r: Result) {
  const rows = objects(r);
  const vol = charts.get('volume')!;
  const pts = ascending(rows, 'minute', 'volume');
  setPoints(vol, 'bars', pts);
  const total = rows.reduce((a, x) => a + (x.volume as number), 0);
  vol.el.dataset.total = String(total);
  vol.el.dataset.series = JSON.stringify(pts);
  vol.el.querySelector('.foot')!.textContent =
    `${rows.length} minutes · total ${format(total, 'short')} · per minute`;
}

function drawMinuteBars(r: Result) {
  const cp = charts.get('tradesPerMinute')!;
  const pts = objects(r)
    .map((x) => [sec(x.minute as number), x.trades as number] as [number, number])
    .reverse();
  setPoints(cp, 'bars', pts);
  cp.el.dataset.series = JSON.stringify(pts);
  cp.el.querySelector('.foot')!.textContent =
    `${pts.length} minutes · ${pts.reduce((a, p) => a + p[1], 0)} trades`;
}

function drawCandles(r: Result) {
  const cp = charts.get('candles')!;
  const rows = objects(r).reverse();
  const candles = rows.map((x) => ({
    time: sec(x.minute as number),
    open: x.open as number,
    high: x.high as number,
    low: x.low as number,
    close: x.close as number,
  }));
  cp.series.candles!.setData(candles);
  setPoints(
    cp,
    'vwap',
    rows.map((x) => [sec(x.minute as number), x.vwap as number]),
  );
  setPoints(
    cp,
    'volume',
    rows.map((x) => [sec(x.minute as number), x.volume as number]),
  );
  cp.el.dataset.series = JSON.stringify({
    candles: candles.map((c) => [c.time, c.open, c.high, c.low, c.close]),
    vwap: rows.map((x) => [sec(x.minute as number), x.vwap]),
  });
  // With a handful of candles, fitting them to the width draws slabs: show at least MIN_BARS slots instead,
  // the candles at the right edge like any chart of a young market.
  if (candles.length > 0 && candles.length < MIN_BARS) {
    cp.chart?.timeScale().setVisibleLogicalRange({ from: candles.length - MIN_BARS, to: candles.length });
    cp.el.dataset.visibleBars = String(MIN_BARS);
  } else {
    delete cp.el.dataset.visibleBars;
  }
  cp.el.querySelector('.foot')!.textContent =
    `${candles.length} ${resolution.value === '1m' ? 'closed minutes' : `candles of ${resolution.value} (closed minutes)`} · candles, VWAP (orange) and volume`;
}
const MIN_BARS = 30;

function drawTable(r: Result) {
  const p = panelById.get('pastMinutes')!;
  const cols = p.columns.filter((c) => c.name !== 'symbol');
  const table = charts.get('pastMinutes')!.el.querySelector('table')!;
  const head = `<thead><tr>${cols.map((c) => `<th>${c.label}</th>`).join('')}</tr></thead>`;
  const when = resolution.value === '1d' ? (ms: number) => iso(ms).slice(0, 10) : hhmm;
  const body = objects(r)
    .map(
      (row) =>
        `<tr>${cols.map((c) => `<td>${c.name === 'minute' ? when(row.minute as number) : format(row[c.name] as number, c.unit ?? 'short', c.unit === 'currencyUSD' ? 2 : c.name === 'trades' ? 0 : undefined)}</td>`).join('')}</tr>`,
    )
    .join('');
  table.innerHTML = `${head}<tbody>${body}</tbody>`;
  charts
    .get('pastMinutes')!
    .el.querySelector('.foot')!.textContent = `${r.rows.length} candles, newest first`;
}

function drawStat(id: string, r: Result) {
  const p = panelById.get(id)!;
  const el = document.querySelector(`#stats [data-panel="${id}"]`) as HTMLElement;
  const row = objects(r)[0];
  const v = row ? (row[p.valueColumns[0]!] as number | null) : null;
  const t = row ? (row[p.timeColumn] as number) : null;
  el.querySelector('.value')!.textContent = format(v, p.unit, p.decimals);
  el.querySelector('.sub')!.textContent =
    t === null ? 'no data' : `${p.timeColumn === 'minute' ? 'minute' : 'at'} ${iso(t)}`;
  el.dataset.value = v === null ? '' : String(v);
  el.dataset.time = t === null ? '' : String(t);
}

function drawHealth(items: readonly HealthItem[]) {
  const strip = $('#health');
  for (const h of items) {
    let el = strip.querySelector(`[data-panel="${h.id}"]`) as HTMLElement | null;
    el ??= tile(strip, h.id, h.title, '');
    const text = h.values
      .map((v) => (h.values.length > 1 ? `${v.label} ${format(v.value, h.unit)}` : format(v.value, h.unit)))
      .join(' · ');
    el.querySelector('.value')!.textContent = text;
    el.querySelector('.sub')!.textContent = h.note ?? '';
    el.dataset.values = JSON.stringify(h.values);
  }
}

/** One chip per alert of alerts/catalogue.ts: red when firing, grey when the viewer cannot tell. */
function drawAlerts(alerts: readonly AlertStatus[]) {
  const strip = $('#alerts');
  for (const a of alerts) {
    let el = strip.querySelector(`[data-alert="${a.name}"]`) as HTMLElement | null;
    if (!el) {
      el = document.createElement('span');
      el.className = 'alert';
      el.dataset.alert = a.name;
      strip.append(el);
    }
    el.textContent = a.name.replace(/^Market/, '').replace(/([a-z])([A-Z])/g, '$1 $2');
    el.title = `${a.summary}\n${a.detail}`;
    el.dataset.state = a.state;
    el.dataset.severity = a.severity;
  }
  strip.dataset.firing = String(alerts.filter((a) => a.state === 'firing').length);
}

function draw(view: ViewResponse) {
  const failed: string[] = [];
  for (const el of Array.from(document.querySelectorAll<HTMLElement>('#panels [data-title]'))) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Grafana variable in a catalogue title
    el.querySelector('h2')!.textContent = el.dataset.title!.replace('${resolution}', view.resolution);
  }
  for (const [id, res] of Object.entries(view.panels)) {
    if ('error' in res) {
      failed.push(id);
      continue;
    }
    const r = res as Result;
    if (id === 'price') drawTicks(r);
    else if (id === 'volume') drawVolume(r);
    else if (id === 'tradesPerMinute') drawMinuteBars(r);
    else if (id === 'candles') drawCandles(r);
    else if (id === 'pastMinutes') drawTable(r);
    else drawStat(id, r);
  }
  drawHealth(view.health);
  drawAlerts(view.alerts);
  // Fit the time axis to the data for the first few draws of a symbol (the page may still be laying out).
  if (fitFor !== view.symbol) {
    fitFor = view.symbol;
    fitsLeft = 3;
  }
  if (fitsLeft > 0) {
    fitsLeft -= 1;
    for (const cp of charts.values()) if (!cp.el.dataset.visibleBars) cp.chart?.timeScale().fitContent();
  }
  const status = $('#status');
  status.dataset.symbol = view.symbol;
  status.dataset.resolution = view.resolution;
  status.dataset.updates = String(Number(status.dataset.updates) + 1);
  status.classList.toggle('error', failed.length > 0);
  status.textContent = `${failed.length ? `query failed: ${failed.join(', ')} · ` : ''}${view.symbol} · ${view.resolution} · ${hhmm(view.fromMs)}–${hhmm(view.toMs)} UTC · updated ${new Date(view.toMs).toISOString().slice(11, 19)}`;
}

/** The overview table: one row per symbol in the server's order (most turnover in the last hour first). */
function drawOverview(o: OverviewResponse) {
  const el = $('#overview [data-panel="overview"]');
  const head = `<thead><tr>${OVERVIEW_COLUMNS.map((c) => `<th>${c.label}</th>`).join('')}</tr></thead>`;
  const cell = (row: OverviewRow, c: (typeof OVERVIEW_COLUMNS)[number]) => {
    const v = row[c.key];
    if (c.key === 'symbol')
      return `<td><a href="?symbol=${encodeURIComponent(String(v))}">${String(v)}</a></td>`;
    const cls =
      c.unit === 'percent' && typeof v === 'number' && v !== 0
        ? v > 0
          ? 'up'
          : 'down'
        : c.key === 'staleS' && typeof v === 'number' && v > 60
          ? 'stale'
          : '';
    const text =
      c.key === 'staleS' && typeof v === 'number'
        ? `${format(v, 's')} ago`
        : format(v as number, c.unit, c.key === 'trades1h' ? 0 : undefined);
    return `<td class="${cls}">${text}</td>`;
  };
  const body = o.rows.map((r) => `<tr>${OVERVIEW_COLUMNS.map((c) => cell(r, c)).join('')}</tr>`).join('');
  el.querySelector('table')!.innerHTML = `${head}<tbody>${body}</tbody>`;
  el.dataset.rows = JSON.stringify(o.rows);
  el.querySelector('.foot')!.textContent =
    `${o.rows.length} symbols · most turnover in the last hour first · changes against the close of the minute 1 h and 24 h ago${o.failed.length ? ` · query failed: ${o.failed.join(', ')}` : ''}`;
  const status = $('#status');
  status.dataset.symbol = '';
  status.dataset.view = 'overview';
  status.dataset.updates = String(Number(status.dataset.updates) + 1);
  status.classList.toggle('error', o.failed.length > 0);
  status.textContent = `overview · updated ${new Date(o.toMs).toISOString().slice(11, 19)} UTC`;
}

// ---- polling ------------------------------------------------------------------------------------------

const select = $<HTMLSelectElement>('#symbol');
const resolution = $<HTMLSelectElement>('#resolution');
const params = new URLSearchParams(location.search);
const view = params.get('view') === 'overview' ? 'overview' : 'symbol';
document.body.dataset.view = view;
$(view === 'overview' ? '#to-overview' : '#to-symbol').setAttribute('aria-current', 'page');
$('#overview').hidden = view !== 'overview';
resolution.replaceChildren(...RESOLUTION_VARIABLE.values.map((r) => new Option(r, r)));
resolution.value = (RESOLUTION_VARIABLE.values as readonly string[]).includes(params.get('resolution') ?? '')
  ? params.get('resolution')!
  : RESOLUTION_VARIABLE.default;

/** The page's state in the URL, so a reload or a shared link shows the same thing. */
function syncUrl() {
  const q = new URLSearchParams();
  if (select.value) q.set('symbol', select.value);
  if (resolution.value !== RESOLUTION_VARIABLE.default) q.set('resolution', resolution.value);
  history.replaceState(null, '', `?${q}`);
  $('#to-symbol').setAttribute('href', `?${q}`);
}

async function loadSymbols() {
  const res = await fetch('/api/symbols');
  if (!res.ok) return;
  const { symbols } = (await res.json()) as { symbols: string[] };
  // The server lists the configured symbols first, in their order: the first is the default.
  const wanted = select.value || params.get('symbol') || symbols[0] || '';
  const current = Array.from(select.options, (o) => o.value);
  if (current.join('\n') !== symbols.join('\n')) {
    select.replaceChildren(...symbols.map((s) => new Option(s, s)));
  }
  if (symbols.includes(wanted)) select.value = wanted;
}

let polls = 0;
async function poll() {
  if (view === 'overview') {
    const res = await fetch('/api/overview');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    drawOverview((await res.json()) as OverviewResponse);
    return;
  }
  if (polls++ % 10 === 0 || select.options.length === 0) await loadSymbols();
  const symbol = select.value;
  if (!symbol) return;
  const res = await fetch(
    `/api/view?symbol=${encodeURIComponent(symbol)}&resolution=${encodeURIComponent(resolution.value)}`,
  );
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const v = (await res.json()) as ViewResponse;
  if (v.symbol === select.value && v.resolution === resolution.value) draw(v);
}

const { pollMs } = (await (await fetch('/api/config')).json()) as { pollMs: number };
let timer: ReturnType<typeof setTimeout> | undefined;
let running = false;
let again = false;
/** One poll at a time; a symbol change during a poll runs another right after it. */
async function loop(): Promise<void> {
  clearTimeout(timer);
  if (running) {
    again = true;
    return;
  }
  running = true;
  try {
    await poll();
  } catch (err) {
    $('#status').classList.add('error');
    $('#status').textContent = `update failed: ${(err as Error).message}`;
  } finally {
    running = false;
  }
  if (again) {
    again = false;
    return loop();
  }
  timer = setTimeout(loop, pollMs);
}
for (const el of [select, resolution]) {
  el.addEventListener('change', () => {
    syncUrl();
    fitFor = ''; // refit the time axis to the new data
    void loop();
  });
}
void loop();
