import { list, num } from '../shared/config/parsers.ts';

type Range = { min?: number; max?: number };

/**
 * The bench's numbers from the environment, checked: a typo fails the run at the start with the variable's
 * name. `Number('6O')` was NaN, and a NaN floor warm-up silently skipped the warm-up.
 */
function fromEnv<T>(name: string, parse: (raw: string) => T, fallback: T, env: NodeJS.ProcessEnv): T {
  const raw = env[name];
  if (raw === undefined) return fallback;
  try {
    return parse(raw);
  } catch (err) {
    throw new Error(`${name}=${JSON.stringify(raw)}: ${(err as Error).message}`);
  }
}

export const envNumber = (name: string, fallback: number, range: Range = {}, env = process.env): number =>
  fromEnv(name, num(range), fallback, env);

/** A comma-separated list of items of any kind, each checked by `item` (BENCH_RATES). */
export const envList = <T>(
  name: string,
  item: (raw: string) => T,
  fallback: readonly T[],
  env = process.env,
): T[] => fromEnv(name, list(item), [...fallback], env);

/** A comma-separated list of numbers, e.g. BENCH_CODEC_TRADES. */
export const envNumbers = (
  name: string,
  fallback: readonly number[],
  range: Range = {},
  env = process.env,
): number[] => envList(name, num(range), fallback, env);
