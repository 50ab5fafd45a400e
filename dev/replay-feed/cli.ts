/**
 * `node --import tsx dev/replay-feed/cli.ts [options]`: runs the Finnhub-compatible replay feed until SIGINT /
 * SIGTERM. Prints one JSON line with the URL when listening and one with the stats when stopping.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { gracefulShutdown } from '../../shared/host/shutdown.ts';
import { LOAD_PROFILES, loadProfile } from './profiles.ts';
import { startReplayFeed } from './server.ts';

const HELP = `Finnhub-compatible replay feed
  --host <ip>                 listen address (default 127.0.0.1)
  --port <n>                  listen port (default 8765; 0 = any free port)
  --rate <trades/s>           generated trades per second over all subscribed symbols (default 50)
  --seed <n>                  PRNG seed (default 1)
  --replay <file.jsonl>       replay a recording instead of generating
  --speed <x>                 replay pace (1 = recorded timing; 0 = use --rate) (default 1)
  --loop                      restart the replay at its end
  --record <file.jsonl>       append every frame sent to this file
  --ping-ms <ms>              ping interval (default 60000)
  --disconnect-every-ms <ms>  close each connection after about this long (default 0 = never)
  --max-symbols <n>           per-connection symbol limit (default 50)
  --max-trades-per-frame <n>  most trades in one frame (default 8)
  --no-bursts                 keep the rate steady (benchmarks)
  --profile <name>            frame shape of a load profile (profiles.ts): ${Object.keys(LOAD_PROFILES).join(', ')};
                              --max-trades-per-frame and --no-bursts are then ignored
  --help
stdin (when not a terminal): "rate <n>", "pause", "resume", "stats" lines control a running feed`;

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8765' },
    rate: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    replay: { type: 'string' },
    speed: { type: 'string', default: '1' },
    loop: { type: 'boolean', default: false },
    record: { type: 'string' },
    'ping-ms': { type: 'string', default: '60000' },
    'disconnect-every-ms': { type: 'string', default: '0' },
    'max-symbols': { type: 'string', default: '50' },
    'max-trades-per-frame': { type: 'string', default: '8' },
    'no-bursts': { type: 'boolean', default: false },
    profile: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(HELP);
  process.exit(0);
}

const num = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name}: expected a non-negative number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
};

let profileMarket: ReturnType<typeof loadProfile>['market'] | undefined;
try {
  profileMarket = values.profile === undefined ? undefined : loadProfile(values.profile).market;
} catch (err) {
  console.error(`--profile: ${(err as Error).message}`);
  process.exit(2);
}

const feed = await startReplayFeed({
  host: values.host,
  port: num('port', values.port),
  tradesPerSecond: num('rate', values.rate),
  market: profileMarket
    ? { ...profileMarket, seed: num('seed', values.seed) }
    : {
        seed: num('seed', values.seed),
        maxTradesPerFrame: num('max-trades-per-frame', values['max-trades-per-frame']),
        ...(values['no-bursts'] ? { burstProbability: 0 } : {}),
      },
  ...(values.replay ? { replayFile: values.replay } : {}),
  replaySpeed: num('speed', values.speed),
  replayLoop: values.loop,
  ...(values.record ? { recordFile: values.record } : {}),
  pingIntervalMs: num('ping-ms', values['ping-ms']),
  disconnectEveryMs: num('disconnect-every-ms', values['disconnect-every-ms']),
  maxSymbols: num('max-symbols', values['max-symbols']),
});
console.log(JSON.stringify({ msg: 'replay feed listening', url: feed.url }));

// Control lines on stdin (benchmarks drive the rate): `rate <trades/s>`, `pause`, `resume`, `stats`.
if (!process.stdin.isTTY) {
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'rate' && Number.isFinite(Number(arg)) && Number(arg) >= 0) feed.setRate(Number(arg));
    else if (cmd === 'pause') feed.setPaused(true);
    else if (cmd === 'resume') feed.setPaused(false);
    else if (cmd === 'stats') console.log(JSON.stringify({ msg: 'stats', stats: feed.stats }));
  });
}

gracefulShutdown({
  graceMs: 10_000,
  steps: [
    { name: 'feed', run: () => feed.close() },
    {
      name: 'stats',
      run: () => console.log(JSON.stringify({ msg: 'replay feed stopped', stats: feed.stats })),
    },
  ],
});
