/** One sample of the Prometheus text exposition format. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

const unescapeLabel = (v: string) => v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));

const TYPE = /^#\s*TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+counter\s*$/;

/**
 * Parses the text format (comments skipped, malformed lines ignored). A counter that is declared (`# TYPE`)
 * but has no series yet (prom-client exposes a labelled counter only once it moved) reads as one series of
 * 0: the process counts it, and has counted nothing.
 */
export function parsePromText(text: string): Sample[] {
  const out: Sample[] = [];
  const counters = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const declared = TYPE.exec(line);
    if (declared) counters.add(declared[1]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = unescapeLabel(l[2]!);
    const value =
      m[3] === '+Inf' ? Number.POSITIVE_INFINITY : m[3] === '-Inf' ? Number.NEGATIVE_INFINITY : Number(m[3]);
    out.push({ name: m[1]!, labels, value });
  }
  const seen = new Set(out.map((s) => s.name));
  for (const name of counters) if (!seen.has(name)) out.push({ name, labels: {}, value: 0 });
  return out;
}

/** Cumulative histogram buckets of `name` by upper bound, summed over the series whose labels match. */
export function bucketsOf(
  samples: readonly Sample[],
  name: string,
  match: Readonly<Record<string, string>> = {},
): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || s.labels.le === undefined) continue;
    if (!Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    out.set(le, (out.get(le) ?? 0) + s.value);
  }
  return out;
}
