import type { Trade } from '../shared/contract/types.ts';

/**
 * Events of made-up trades for the parts that drive Cassandra without the pipeline: four symbols in turn,
 * `size` trades each, `ageMs` old (inside the writers' window), ids `<prefix><n>`.
 */
export function syntheticEvents(prefix: string, ageMs: number) {
  let seq = 0;
  return (size: number): { id: string; trades: Trade[] } => {
    const now = Date.now();
    const n = seq++;
    const trades: Trade[] = Array.from({ length: size }, (_x, k) => ({
      s: `SYM${n % 4}`,
      p: 100 + (k % 7),
      t: now - ageMs + k,
      v: 0.5,
      c: ['1'],
    }));
    return { id: `${prefix}${n}`, trades };
  };
}
