/** Parsers for `Setting.parse`: each throws an Error whose message says what was expected. */

export const text = (raw: string): string => raw;

export function int(opts: { min?: number; max?: number } = {}): (raw: string) => number {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = opts;
  return (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`expected an integer between ${min} and ${max}`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`expected an integer between ${min} and ${max}`);
    return n;
  };
}

export function num(opts: { min?: number; max?: number } = {}): (raw: string) => number {
  const { min = -Number.MAX_VALUE, max = Number.MAX_VALUE } = opts;
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new Error(`expected a number between ${min} and ${max}`);
    }
    return n;
  };
}

export function bool(raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error('expected true/false (or 1/0, yes/no, on/off)');
}

export function oneOf<const T extends string>(...values: T[]): (raw: string) => T {
  return (raw) => {
    if (!(values as string[]).includes(raw)) throw new Error(`expected one of ${values.join(', ')}`);
    return raw as T;
  };
}

/** Comma-separated list; empty items are dropped, duplicates rejected. */
export function list<T = string>(
  item: (raw: string) => T = text as (raw: string) => T,
  opts: { min?: number; max?: number } = {},
): (raw: string) => T[] {
  const { min = 1, max = Number.MAX_SAFE_INTEGER } = opts;
  return (raw) => {
    const parts = raw
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    if (parts.length < min || parts.length > max) {
      throw new Error(`expected a comma-separated list of ${min}..${max} items, got ${parts.length}`);
    }
    if (new Set(parts).size !== parts.length) throw new Error('the list repeats an item');
    return parts.map((p, i) => {
      try {
        return item(p);
      } catch (err) {
        throw new Error(`item ${i + 1} (${JSON.stringify(p)}): ${(err as Error).message}`);
      }
    });
  };
}

/** `host:port`, as Kafka brokers and Cassandra contact points are written. */
export function hostPort(raw: string): string {
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(raw);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error('expected host:port');
  return raw;
}

export function url(protocols: string[]): (raw: string) => string {
  return (raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new Error(`expected a URL (${protocols.join(' or ')})`);
    }
    if (!protocols.includes(u.protocol.replace(/:$/, ''))) {
      throw new Error(`expected a ${protocols.join(' or ')} URL`);
    }
    return raw;
  };
}

/** Kafka topic / Cassandra identifier style names. */
export function identifier(pattern: RegExp, what: string): (raw: string) => string {
  return (raw) => {
    if (!pattern.test(raw)) throw new Error(`expected ${what}`);
    return raw;
  };
}
