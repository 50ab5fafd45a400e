import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runtimeSourceDir } from './paths.ts';

/**
 * `{{name}}` substitution. A placeholder without a value is an error rather than an empty string, because
 * Kafka and Cassandra would only fail later with a far less obvious message.
 */
export function renderTemplate(text: string, values: Readonly<Record<string, string | number>>): string {
  const missing = new Set<string>();
  const out = text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) {
      missing.add(key);
      return '';
    }
    return String(v);
  });
  if (missing.size > 0) throw new Error(`template values missing: ${[...missing].join(', ')}`);
  return out;
}

// `.tmpl`: formatters must not touch the files, `{{x}}` is not valid YAML or XML.
const templateText = (template: string): string =>
  readFileSync(join(runtimeSourceDir, 'templates', `${template}.tmpl`), 'utf8');

export function writeFromTemplate(
  template: string,
  targetDir: string,
  values: Readonly<Record<string, string | number>>,
): string {
  const text = templateText(template);
  mkdirSync(targetDir, { recursive: true });
  const target = join(targetDir, template);
  writeFileSync(target, renderTemplate(text, values));
  return target;
}

/** The line of `cassandra.yaml.tmpl` after which every setting is the app's, set the same way on the cluster. */
const CASSANDRA_APP_SETTINGS_MARKER = "# ---- the app's settings, the same on the cluster ----";

/**
 * The settings of `cassandra.yaml.tmpl` below its marker: how Cassandra serves the app, which the cluster's init
 * container must set to the same values (the tests of knative/ compare the two). A nested setting is named by
 * its dotted path, as Cassandra's `system_views.settings` names it (`sstable.selected_format`).
 */
export function cassandraAppSettings(): Record<string, string> {
  const text = templateText('cassandra.yaml');
  const at = text.indexOf(`\n${CASSANDRA_APP_SETTINGS_MARKER}\n`);
  if (at < 0) throw new Error(`cassandra.yaml.tmpl has no line "${CASSANDRA_APP_SETTINGS_MARKER}"`);
  const out: Record<string, string> = {};
  const flatten = (value: unknown, path: string): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value))
      for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k);
    else out[path] = String(value);
  };
  const block: unknown = parse(text.slice(at));
  if (block === null || typeof block !== 'object')
    throw new Error('cassandra.yaml.tmpl has no settings below its marker');
  flatten(block, '');
  return out;
}
