/**
 * `npm run refinalize -- --from <time> --to <time> [--symbols A,B]`
 * Files a finalize request for every minute in [from, to) of the given symbols (default: every symbol the
 * pipeline has seen); the finalizer (re)computes those candles from the trade rows on its next tick and
 * corrects their live counters, whatever their age (mp_finalizer_requests_total{origin="operator"}).
 * Idempotent: filing the same minutes twice finalizes them once more. Cassandra settings as the services'.
 */
import { parseArgs } from 'node:util';
import { createCassandraClient } from '../shared/cassandra/client.ts';
import { loadCassandraConfig } from '../shared/cassandra/config.ts';
import { MarketStore } from '../shared/cassandra/market-store.ts';
import { ConfigError } from '../shared/config/env.ts';
import { loadMarketConfig } from '../shared/market/config.ts';
import { MINUTE_MS, minuteOf } from '../shared/market/time.ts';

const USAGE = `usage: npm run refinalize -- --from <ISO time> --to <ISO time> [--symbols SYM1,SYM2]
  re-finalizes every minute starting in [from, to): candles from the trade rows, counters corrected`;
/** A week of minutes per symbol: longer ranges are a sign of a typo (and exceed the default trade TTL). */
const MAX_MINUTES = 7 * 24 * 60;

function minuteRange(from: string, to: string): number[] {
  const a = Date.parse(from);
  const b = Date.parse(to);
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new RangeError('--from and --to must be ISO times');
  const out: number[] = [];
  for (let m = minuteOf(a); m < b; m += MINUTE_MS) {
    out.push(m);
    if (out.length > MAX_MINUTES) throw new RangeError(`at most ${MAX_MINUTES} minutes (7 days) at a time`);
  }
  if (out.length === 0) throw new RangeError('--to must be after --from');
  return out;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      symbols: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.from || !values.to) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const minutes = minuteRange(values.from, values.to);
  const market = loadMarketConfig();
  const client = createCassandraClient(loadCassandraConfig(), { applicationName: 'refinalize' });
  try {
    const store = new MarketStore(client, market);
    const symbols = values.symbols
      ? values.symbols
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : (await store.listSymbols()).map((s) => s.symbol);
    for (const s of symbols) await store.requestFinalize(s, minutes, 'operator');
    process.stdout.write(
      `${JSON.stringify({ symbols, minutes: minutes.length, from: new Date(minutes[0]!).toISOString(), requests: symbols.length * minutes.length })}\n`,
    );
    return 0;
  } finally {
    await client.shutdown();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const known = err instanceof ConfigError || err instanceof RangeError;
    process.stderr.write(`${known ? (err as Error).message : String((err as Error).stack ?? err)}\n`);
    process.exit(err instanceof RangeError ? 2 : 1);
  },
);
