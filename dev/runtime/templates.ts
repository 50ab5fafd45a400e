import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

export function writeFromTemplate(
  template: string,
  targetDir: string,
  values: Readonly<Record<string, string | number>>,
): string {
  // `.tmpl`: formatters must not touch the files, `{{x}}` is not valid YAML or XML.
  const text = readFileSync(join(runtimeSourceDir, 'templates', `${template}.tmpl`), 'utf8');
  mkdirSync(targetDir, { recursive: true });
  const target = join(targetDir, template);
  writeFileSync(target, renderTemplate(text, values));
  return target;
}
