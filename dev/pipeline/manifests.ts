import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { repoRoot } from './service.ts';

export interface ManifestOverrides {
  readonly topic: string;
  readonly deadLetterTopic: string;
  /** Appended to every consumer group, so a test run starts from a clean group. */
  readonly groupSuffix: string;
  /** Replaces these delivery fields of every KafkaSource (e.g. a retry budget shrunk for an outage test). */
  readonly delivery?: { readonly retry?: number; readonly backoffDelay?: string; readonly timeout?: string };
}

/**
 * A copy of the source manifests with this run's topic, dead-letter topic and consumer groups. Everything
 * else (ordering, retries, backoff, sinks) stays exactly as committed, so local runs honour the manifests.
 */
export function writeManifestCopy(dir: string, o: ManifestOverrides): string {
  const src = resolve(repoRoot, 'knative/base/sources');
  mkdirSync(dir, { recursive: true });
  const docs: string[] = [];
  for (const file of readdirSync(src).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    for (const doc of parseAllDocuments(readFileSync(join(src, file), 'utf8'))) {
      const obj = doc.toJS() as { kind?: string; spec?: Record<string, unknown> } | null;
      if (!obj?.spec) continue;
      if (obj.kind === 'KafkaSource') {
        obj.spec.topics = [o.topic];
        obj.spec.consumerGroup = `${String(obj.spec.consumerGroup)}-${o.groupSuffix}`;
        if (o.delivery) obj.spec.delivery = { ...(obj.spec.delivery as object), ...o.delivery };
      }
      if (obj.kind === 'KafkaSink') obj.spec.topic = o.deadLetterTopic;
      docs.push(stringify(obj));
    }
  }
  const file = join(dir, 'sources.yaml');
  writeFileSync(file, docs.join('---\n'));
  return file;
}
