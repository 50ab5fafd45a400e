import { readFileSync } from 'node:fs';

/**
 * One declaration per setting: the environment variable, how to parse it, its default and its doc line.
 * Units live in the names (`_MS`, `_S`, `_BYTES`) so a value never needs a comment to be read right.
 */
export interface Setting<T> {
  readonly env: string;
  readonly doc: string;
  readonly parse: (raw: string) => T;
  /** Absent means required. */
  readonly default?: T;
  /** Secrets may also come from a mounted file named by `<ENV>_FILE`; they are never echoed in errors. */
  readonly secret?: boolean;
}

export type Spec = Record<string, Setting<unknown>>;
export type ConfigOf<S extends Spec> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };
export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Every setting this process has loaded (variable -> effective value, secrets redacted), for the start log. */
const effective = new Map<string, string>();

/**
 * The settings this process runs with, as its start log line reports them: a reader (or a test) sees which
 * value each variable took, default or not, without the process echoing its environment.
 */
export function loadedSettings(): Record<string, string> {
  return Object.fromEntries([...effective].sort(([a], [b]) => a.localeCompare(b)));
}

function shown(setting: Setting<unknown>, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (setting.secret) return '<redacted>';
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object' && value !== null)
    return Object.entries(value)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',');
  return String(value);
}

/** Reads every setting, collecting all problems before failing so one run shows every fix needed. */
export function loadConfig<S extends Spec>(spec: S, env: Env = process.env): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, setting] of Object.entries(spec)) {
    let raw = env[setting.env];
    const file = setting.secret ? env[`${setting.env}_FILE`] : undefined;
    if ((raw === undefined || raw === '') && file) {
      try {
        raw = readFileSync(file, 'utf8').trim();
      } catch (err) {
        problems.push(
          `${setting.env}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}); mount the secret file or set ${setting.env}`,
        );
        continue;
      }
    }
    if (raw === undefined || raw === '') {
      if ('default' in setting) out[key] = setting.default;
      else problems.push(`${setting.env} is required: ${setting.doc}`);
      continue;
    }
    try {
      out[key] = setting.parse(raw);
    } catch (err) {
      const shown = setting.secret ? '<redacted>' : JSON.stringify(raw);
      problems.push(`${setting.env}=${shown}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  for (const [key, setting] of Object.entries(spec)) {
    const v = shown(setting, out[key]);
    if (v !== undefined) effective.set(setting.env, v);
  }
  return out as ConfigOf<S>;
}

/** Markdown table of a spec, for READMEs (a test keeps the docs in step with the code). */
export function configTable(spec: Spec): string {
  const rows = Object.values(spec).map((s) => {
    const def = !('default' in s)
      ? '(required)'
      : s.secret
        ? '(unset)'
        : s.default === undefined
          ? '(unset)'
          : `\`${Array.isArray(s.default) ? s.default.join(',') : String(s.default)}\``;
    const name = s.secret ? `\`${s.env}\` / \`${s.env}_FILE\`` : `\`${s.env}\``;
    return `| ${name} | ${def} | ${s.doc} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
