import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const guard = fileURLToPath(new URL('../dev/pipeline/exit-with-parent.ts', import.meta.url));

export interface FeedProcessOptions {
  /** Trades per second to start with (default 0: silent until `setRate`). */
  rate?: number;
  /** A load profile of dev/replay-feed/profiles.ts; unset: the CLI's default frames without bursts. */
  profile?: string;
  seed?: number;
  pingMs?: number;
}

export interface FeedProcess {
  readonly url: string;
  readonly pid: number;
  setRate(tradesPerSecond: number): void;
  /** The feed's counters (tradesSent, framesSent, framesSkipped, ...), asked over stdin. */
  stats(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/**
 * The replay feed as its own process (dev/replay-feed/cli.ts), so it does not share an event loop with the
 * bench and its CPU can be measured apart; driven over stdin. It stops when the bench ends, however it ends.
 */
export async function startFeedProcess(opts: FeedProcessOptions = {}): Promise<FeedProcess> {
  const args = [
    '--import',
    'tsx',
    '--import',
    guard,
    'dev/replay-feed/cli.ts',
    '--port',
    '0',
    '--rate',
    String(opts.rate ?? 0),
    '--ping-ms',
    String(opts.pingMs ?? 5000),
    '--disconnect-every-ms',
    '0',
    '--seed',
    String(opts.seed ?? 7),
    ...(opts.profile ? ['--profile', opts.profile] : ['--no-bursts']),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, MP_EXIT_WITH_PARENT: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: ((stats: Record<string, number>) => void)[] = [];
  const exited = new Promise((r) => child.once('exit', r));
  const rl = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`replay feed exited (${code})`)));
    rl.on('line', (line) => {
      let msg: { url?: string; msg?: string; stats?: Record<string, number> };
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg.url) resolve(msg.url);
      if (msg.msg === 'stats' && msg.stats) waiting.shift()?.(msg.stats);
    });
  });
  return {
    url,
    pid: child.pid!,
    setRate: (r) => child.stdin!.write(`rate ${r}\n`),
    stats: () =>
      new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin!.write('stats\n');
      }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
