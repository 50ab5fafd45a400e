import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { Logger } from '../../shared/observability/index.ts';
import { Backoff, type BackoffOptions, retryAfterMs } from '../../shared/retry/backoff.ts';
import { BridgeErrors } from './errors.ts';
import { type FrameLimits, type ParsedFrame, parseFrame } from './frame.ts';
import { nowMs } from './record.ts';

/**
 * The Finnhub websocket client: connect, subscribe, keep alive, reconnect. It owns the socket and the
 * subscription state; everything it receives goes to `onFrame` already parsed.
 *
 * - Reconnects with jittered exponential backoff (reset once a connection delivered a frame) and resubscribes
 *   every symbol that was not refused.
 * - A silence watchdog terminates the socket when no frame (trade or ping) arrived for `watchdogMs`.
 * - HTTP 429 on the upgrade waits at least `rateLimitBackoffMs` (or Retry-After); 401/403 waits the maximum.
 * - "Subscribing to too many symbols": Finnhub does not say which symbol; the feed refuses the newest
 *   subscriptions, so the k-th such error refuses the k-th newest subscription of this connection. Refused
 *   symbols are logged with the observed limit and never resubscribed (no reconnect loop).
 * - The token only ever appears in the URL handed to `ws`; logs and errors carry `safeUrl` and are scrubbed.
 */
export type ReconnectReason = 'closed' | 'error' | 'watchdog' | 'rate_limited' | 'auth' | 'connect_failed';

export type FeedEvent =
  | { type: 'open' }
  | { type: 'close'; reason: ReconnectReason; delayMs: number }
  | { type: 'feed_error'; kind: 'too_many_symbols' | 'invalid_symbol' | 'other' }
  | { type: 'subscriptions'; subscribed: number; refused: number };

export interface FeedClientOptions {
  /** Feed URL without the token, e.g. wss://ws.finnhub.io. */
  url: string;
  token?: string | undefined;
  symbols: readonly string[];
  maxSymbols: number;
  backoff: BackoffOptions;
  rateLimitBackoffMs: number;
  watchdogMs: number;
  connectTimeoutMs: number;
  maxFrameBytes: number;
  /** Trades stamped further ahead of now are refused (`future`); default the contract's. */
  maxFutureSkewMs?: number;
  logger: Logger;
  onFrame: (frame: ParsedFrame, receivedAt: number) => void;
  onEvent?: (ev: FeedEvent) => void;
  random?: () => number;
}

export interface RefusedSymbol {
  symbol: string;
  reason: 'too_many_symbols' | 'invalid_symbol';
}

export class FeedClient {
  private ws: WebSocket | undefined;
  private stopped = true;
  private readonly backoff: Backoff;
  private watchdog: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly refused = new Map<string, RefusedSymbol['reason']>();
  private sentOrder: string[] = [];
  private tooMany = 0;
  private gotFrame = false;
  private failure: { reason: ReconnectReason; minDelayMs?: number; detail: string } | undefined;
  private closed: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  private readonly limits: FrameLimits;
  readonly safeUrl: string;

  constructor(private readonly opts: FeedClientOptions) {
    this.backoff = new Backoff(opts.backoff, opts.random);
    this.log = opts.logger;
    const u = new URL(opts.url);
    this.safeUrl = `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
    for (const s of opts.symbols.slice(opts.maxSymbols)) this.refused.set(s, 'too_many_symbols');
    // The configured subscriptions are the allow-list: a trade of any other symbol is refused (`unsubscribed`).
    this.limits = {
      maxFrameBytes: opts.maxFrameBytes,
      acceptance: {
        symbols: new Set(opts.symbols),
        ...(opts.maxFutureSkewMs !== undefined && { maxFutureSkewMs: opts.maxFutureSkewMs }),
      },
    };
  }

  /** Replaces every occurrence of the token (plain or URL-encoded) in a string. */
  redact(text: string): string {
    const t = this.opts.token;
    if (!t) return text;
    let out = text.split(t).join('[REDACTED]');
    const enc = encodeURIComponent(t);
    if (enc !== t) out = out.split(enc).join('[REDACTED]');
    return out.replace(/([?&]token=)[^&\s"']+/gi, '$1[REDACTED]');
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  subscriptions(): { subscribed: string[]; refused: RefusedSymbol[] } {
    return {
      subscribed: this.opts.symbols.filter((s) => !this.refused.has(s)),
      refused: [...this.refused].map(([symbol, reason]) => ({ symbol, reason })),
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const over = this.opts.symbols.slice(this.opts.maxSymbols);
    if (over.length > 0) {
      const d = BridgeErrors.TOO_MANY_SYMBOLS;
      this.log.error(
        { code: d.code, limit: this.opts.maxSymbols, configured: this.opts.symbols.length, refused: over },
        `${over.length} of ${this.opts.symbols.length} symbols exceed the limit of ${this.opts.maxSymbols} (FINNHUB_MAX_SYMBOLS) and are not subscribed: ${over.join(', ')}. ${d.fix}`,
      );
    }
    this.emitSubscriptions();
    this.connect();
  }

  private emit(ev: FeedEvent): void {
    try {
      this.opts.onEvent?.(ev);
    } catch (err) {
      this.log.error({ code: BridgeErrors.INTERNAL.code, err }, 'feed event hook failed');
    }
  }

  private emitSubscriptions(): void {
    const { subscribed, refused } = this.subscriptions();
    this.emit({ type: 'subscriptions', subscribed: subscribed.length, refused: refused.length });
  }

  private fullUrl(): string {
    if (!this.opts.token) return this.opts.url;
    const sep = this.opts.url.includes('?') ? '&' : '?';
    return `${this.opts.url}${sep}token=${encodeURIComponent(this.opts.token)}`;
  }

  private armWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.stopped) return;
    this.watchdog = setTimeout(() => this.onSilence(), this.opts.watchdogMs);
  }

  private onSilence(): void {
    const ws = this.ws;
    if (!ws || this.stopped) return;
    const d = BridgeErrors.FEED_SILENT;
    this.log.warn(
      { code: d.code, url: this.safeUrl, silentMs: this.opts.watchdogMs },
      `no frame for ${this.opts.watchdogMs} ms; reconnecting. ${d.fix}`,
    );
    this.failure = { reason: 'watchdog', detail: 'silence' };
    ws.terminate();
  }

  private connect(): void {
    if (this.stopped) return;
    this.failure = undefined;
    this.gotFrame = false;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.fullUrl(), {
        handshakeTimeout: this.opts.connectTimeoutMs,
        maxPayload: Math.max(16 * 1024 * 1024, this.opts.maxFrameBytes * 2),
        perMessageDeflate: false,
      });
    } catch (err) {
      // Only a malformed URL gets here (config validation prevents it); never spin.
      this.failure = { reason: 'connect_failed', detail: this.redact((err as Error).message) };
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    let resolveClosed: () => void = () => {};
    this.closed = new Promise((r) => {
      resolveClosed = r;
    });
    this.armWatchdog();

    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      res.resume();
      if (status === 429) {
        const ra = retryAfterMs(res.headers['retry-after']);
        this.failure = {
          reason: 'rate_limited',
          minDelayMs: Math.max(this.opts.rateLimitBackoffMs, ra ?? 0),
          detail: 'HTTP 429',
        };
      } else if (status === 401 || status === 403) {
        this.failure = { reason: 'auth', detail: `HTTP ${status}` };
      } else {
        this.failure = { reason: 'connect_failed', detail: `HTTP ${status}` };
      }
      ws.terminate();
    });

    ws.on('open', () => {
      this.log.info({ url: this.safeUrl }, 'feed connected; subscribing');
      this.emit({ type: 'open' });
      this.sentOrder = [];
      this.tooMany = 0;
      for (const symbol of this.opts.symbols) {
        if (this.refused.has(symbol)) continue;
        ws.send(JSON.stringify({ type: 'subscribe', symbol }));
        this.sentOrder.push(symbol);
      }
    });

    ws.on('message', (data, isBinary) => {
      const receivedAt = nowMs();
      if (ws !== this.ws) return;
      this.armWatchdog();
      if (!this.gotFrame) {
        this.gotFrame = true;
        this.backoff.reset();
      }
      let frame: ParsedFrame;
      try {
        frame = parseFrame(data as Buffer, isBinary, this.limits);
        if (frame.kind === 'error') this.onErrorFrame(frame.msg);
      } catch (err) {
        this.log.error({ code: BridgeErrors.INTERNAL.code, err }, 'frame parsing threw');
        return;
      }
      try {
        this.opts.onFrame(frame, receivedAt);
      } catch (err) {
        this.log.error({ code: BridgeErrors.INTERNAL.code, err }, 'frame handler threw');
      }
    });

    ws.on('error', (err) => {
      if (!this.failure) this.failure = { reason: 'error', detail: this.redact(err.message) };
    });

    ws.on('close', (code, reason) => {
      if (this.watchdog) clearTimeout(this.watchdog);
      this.watchdog = undefined;
      if (ws === this.ws) this.ws = undefined;
      resolveClosed();
      if (this.stopped) return;
      if (!this.failure) {
        this.failure = {
          reason: this.sentOrder.length > 0 || this.gotFrame ? 'closed' : 'connect_failed',
          detail: `code ${code}${reason.length ? ` ${this.redact(reason.toString().slice(0, 120))}` : ''}`,
        };
      }
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const f = this.failure ?? { reason: 'closed' as const, detail: '' };
    let delayMs = f.reason === 'auth' ? this.backoff.max() : this.backoff.next();
    if (f.minDelayMs !== undefined) delayMs = Math.max(delayMs, f.minDelayMs);
    const d =
      f.reason === 'rate_limited'
        ? BridgeErrors.FEED_RATE_LIMITED
        : f.reason === 'auth'
          ? BridgeErrors.FEED_AUTH_REJECTED
          : f.reason === 'closed'
            ? BridgeErrors.FEED_CLOSED
            : f.reason === 'watchdog'
              ? BridgeErrors.FEED_SILENT
              : BridgeErrors.FEED_CONNECT_FAILED;
    const line = {
      code: d.code,
      url: this.safeUrl,
      reason: f.reason,
      detail: this.redact(f.detail),
      delayMs,
    };
    const msg = `feed connection ended (${f.reason}); reconnecting in ${delayMs} ms`;
    if (d.level === 'error') this.log.error(line, `${msg}. ${d.fix}`);
    else this.log.warn(line, msg);
    this.emit({ type: 'close', reason: f.reason, delayMs });
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }

  private onErrorFrame(msg: string): void {
    if (/too many symbols/i.test(msg)) {
      this.tooMany++;
      const symbol = this.sentOrder[this.sentOrder.length - this.tooMany];
      if (symbol !== undefined) this.refused.set(symbol, 'too_many_symbols');
      const refused = [...this.refused].filter(([, r]) => r === 'too_many_symbols').map(([s]) => s);
      const d = BridgeErrors.TOO_MANY_SYMBOLS;
      const accepted = this.sentOrder.length - this.tooMany;
      this.log.error(
        {
          code: d.code,
          feedMessage: msg,
          refused,
          observedLimit: accepted,
          configuredLimit: this.opts.maxSymbols,
        },
        `the feed refused ${symbol ?? 'a symbol'}: it accepts ${accepted} symbols on this connection; not subscribed: ${refused.join(', ')}. ${d.fix}`,
      );
      this.emit({ type: 'feed_error', kind: 'too_many_symbols' });
      this.emitSubscriptions();
    } else if (/invalid symbol/i.test(msg)) {
      const named = /invalid symbol[:\s]+(\S+)/i.exec(msg)?.[1];
      const symbol = named && this.opts.symbols.includes(named) ? named : undefined;
      if (symbol) this.refused.set(symbol, 'invalid_symbol');
      const d = BridgeErrors.INVALID_SYMBOL;
      this.log.error(
        { code: d.code, feedMessage: msg, symbol },
        `the feed refused a symbol as invalid. ${d.fix}`,
      );
      this.emit({ type: 'feed_error', kind: 'invalid_symbol' });
      this.emitSubscriptions();
    } else {
      const d = BridgeErrors.FEED_ERROR;
      this.log.warn({ code: d.code, feedMessage: this.redact(msg) }, 'the feed sent an error frame');
      this.emit({ type: 'feed_error', kind: 'other' });
    }
  }

  /** Closes the socket (close handshake, so frames already sent still arrive) and stops reconnecting. */
  async stop(timeoutMs = 2_000): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.watchdog) clearTimeout(this.watchdog);
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'shutdown');
    else ws.terminate();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    if (timer) clearTimeout(timer);
    if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
  }
}
