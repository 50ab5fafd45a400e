import { Writable } from 'node:stream';
import { WebSocketServer } from 'ws';
import { createLogger, type Logger } from '../../shared/observability/index.ts';
import type { BridgeSink } from './bridge.ts';
import { type BridgeConfig, loadBridgeConfig } from './config.ts';
import type { OutRecord } from './record.ts';

/** A logger whose JSON lines are kept in memory (tests read what was logged). */
export function captureLogger(level = 'debug'): { logger: Logger; lines: string[]; text(): string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: createLogger('bridge-test', { destination, level }), lines, text: () => lines.join('') };
}

/**
 * An in-memory sink standing in for Kafka in unit tests: it records what was acknowledged and can be told
 * to fail or to hang (never acknowledge) to simulate an outage.
 */
export class MemorySink implements BridgeSink {
  readonly acked: OutRecord[] = [];
  /** Every send attempt, acknowledged or not (to check that a failed batch is re-sent unchanged). */
  readonly attempts: OutRecord[][] = [];
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  ready = true;
  private hung: (() => void)[] = [];

  start(): void {}
  async close(): Promise<void> {
    this.ready = false;
  }
  async send(records: readonly OutRecord[]): Promise<void> {
    this.attempts.push([...records]);
    if (this.mode === 'fail') throw new Error('broker not available');
    if (this.mode === 'hang') {
      await new Promise<void>((resolve) => this.hung.push(resolve));
      if ((this.mode as MemorySink['mode']) !== 'ok') throw new Error('request timed out');
    }
    this.acked.push(...records);
  }
  /** Back to normal; hung sends complete (acknowledged). */
  heal(): void {
    this.mode = 'ok';
    for (const h of this.hung.splice(0)) h();
  }
}

export function testConfig(env: Record<string, string> = {}): BridgeConfig {
  return loadBridgeConfig({ BRIDGE_HTTP_HOST: '127.0.0.1', BRIDGE_HTTP_PORT: '0', ...env });
}

/**
 * Polls until `pred` holds (tests are bounded by vitest's timeout, never by a timed assertion). With
 * `giveUpMs`, returns false instead of waiting longer, so the assertions that follow can show what differs.
 */
export async function until(
  pred: () => boolean | Promise<boolean>,
  stepMs = 20,
  giveUpMs = Number.POSITIVE_INFINITY,
): Promise<boolean> {
  const deadline = Date.now() + giveUpMs;
  while (!(await pred())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return true;
}

/**
 * A websocket feed on a free port that answers the bridge's first subscribe message with `frames`, in order
 * (a fixed market for tests that need exact frames rather than the replay feed's).
 */
export async function startFrameFeed(
  frames: readonly unknown[],
): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (ws) => {
    ws.once('message', () => {
      for (const f of frames) ws.send(JSON.stringify(f));
    });
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const { port } = wss.address() as { port: number };
  return { url: `ws://127.0.0.1:${port}`, close: () => new Promise<void>((r) => wss.close(() => r())) };
}
