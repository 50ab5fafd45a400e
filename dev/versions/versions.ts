/**
 * The version pins of the cluster path (versions.yaml) and the places of knative/ that carry them.
 *
 * kustomize cannot read a variable file, so the pins that live in manifests (third-party images, the Kafka
 * version of the Strimzi `Kafka`, the placeholder of our own images) are stamped into them by
 * `npm run versions`; dev/versions/versions.test.ts re-stamps in memory and fails on any difference.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../deploy/bundle.ts';

export type Versions = Readonly<Record<string, string>>;

export function readVersions(root: string = repoRoot): Versions {
  const raw = parse(readFileSync(join(root, 'versions.yaml'), 'utf8')) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
}

/** Repository part of an image reference (tag and digest dropped). */
export const repositoryOf = (image: string): string =>
  image.replace(/@sha256:[0-9a-f]+$/, '').replace(/:[^:/]+$/, '');

/** Our own deployables: their images are `<registry>/market-pipeline/<name>:<tag>`, set at deploy time. */
export const APP_IMAGES = ['trade-writer', 'minute-window', 'minute-finalizer', 'bridge', 'schema'] as const;

/** The image a manifest line should carry, by repository; undefined for an image nothing pins. */
export function pinnedImage(image: string, v: Versions): string | undefined {
  const repo = repositoryOf(image);
  const name = repo.split('/').pop() as string;
  if (/(^|\/)market-pipeline\/[a-z-]+$/.test(repo) && (APP_IMAGES as readonly string[]).includes(name))
    return `${v.app_image_placeholder}/${name}`;
  for (const [key, value] of Object.entries(v)) {
    if (!key.startsWith('image_')) continue;
    if (repositoryOf(value).split('/').pop() === name) return value;
  }
  return undefined;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) return f === 'testdata' ? [] : yamlFiles(p);
      return /\.ya?ml$/.test(f) ? [p] : [];
    });
}

const IMAGE_LINE = /^(\s*(?:-\s+)?image:\s*)("?)([^\s"#]+)\2(\s*(?:#.*)?)$/gm;
const KAFKA_VERSION = /^(\s+# pinned: versions\.yaml kafka\n\s+version:\s*)(\S+)$/m;

/** Returns the stamped text of one manifest file. */
export function stampText(file: string, text: string, v: Versions): string {
  let out = text.replace(IMAGE_LINE, (line, head: string, q: string, image: string, tail: string) => {
    const pinned = pinnedImage(image, v);
    return pinned ? `${head}${q}${pinned}${q}${tail}` : line;
  });
  if (file.endsWith(join('knative', 'kafka', 'kafka.yaml'))) {
    if (!KAFKA_VERSION.test(out)) throw new Error(`${file}: no "# pinned: versions.yaml kafka" version line`);
    out = out.replace(KAFKA_VERSION, (_m, head: string) => `${head}${v.kafka}`);
  }
  return out;
}

/** Every knative/ manifest whose stamped text differs: [path relative to the repo, new text]. */
export function stampedChanges(root: string = repoRoot): [string, string][] {
  const v = readVersions(root);
  return yamlFiles(join(root, 'knative')).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    const next = stampText(file, text, v);
    return next === text ? [] : [[relative(root, file), next] as [string, string]];
  });
}

/** Image references of a manifest file that no pin covers (a third-party image must be in versions.yaml). */
export function unpinnedImages(text: string, v: Versions): string[] {
  return [...text.matchAll(IMAGE_LINE)]
    .map((m) => m[3] as string)
    .filter((image) => pinnedImage(image, v) === undefined);
}

// biome-ignore lint/suspicious/noExplicitAny: the compatibility table is free-form YAML
type Compat = Record<string, any[]>;

export function readCompatibility(root: string = repoRoot): Compat {
  return parse(readFileSync(join(root, 'compatibility.yaml'), 'utf8')) as Compat;
}

/** a >= b for dotted versions ("v" prefix ignored). */
export function versionAtLeast(a: string, b: string): boolean {
  const pa = a.replace(/^v/, '').split('.').map(Number);
  const pb = b.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/**
 * Every way the pins break an upstream fact of the compatibility table. `strimziApis` are the
 * apiVersions of the kafka.strimzi.io objects the manifests use.
 */
export function compatibilityProblems(v: Versions, c: Compat, strimziApis: readonly string[]): string[] {
  const out: string[] = [];
  const k8s = v.kubernetes as string;
  const strimzi = (c.strimzi ?? []).find((e) => e.release === v.strimzi);
  if (!strimzi) out.push(`strimzi ${v.strimzi}: no entry in compatibility.yaml (add its facts and source)`);
  else {
    if (!strimzi.kafka.includes(v.kafka))
      out.push(
        `strimzi ${v.strimzi} does not support Kafka ${v.kafka} (it runs ${strimzi.kafka.join(', ')})`,
      );
    for (const api of strimziApis) {
      if (!strimzi.api_versions.includes(api))
        out.push(`strimzi ${v.strimzi} does not serve ${api} (it serves ${strimzi.api_versions.join(', ')})`);
    }
    if (strimzi.maven_central !== true)
      out.push(
        `strimzi ${v.strimzi}: io.strimzi:api is not on Maven Central (the offline CRD schemas need it)`,
      );
    if (strimzi.kubernetes_min && !versionAtLeast(k8s, strimzi.kubernetes_min))
      out.push(`strimzi ${v.strimzi} needs Kubernetes >= ${strimzi.kubernetes_min}, pinned ${k8s}`);
  }
  const knative = (c.knative ?? []).find((e) => e.release === v.knative);
  if (!knative) out.push(`knative ${v.knative}: no entry in compatibility.yaml`);
  else {
    for (const m of ['serving_module', 'eventing_module', 'eventing_kafka_broker_module'] as const) {
      const pinKey =
        m === 'serving_module'
          ? 'knative_serving_module'
          : m === 'eventing_module'
            ? 'knative_eventing_module'
            : m;
      if (knative[m] !== v[pinKey])
        out.push(`knative ${v.knative} is ${m} ${knative[m]}, pinned ${pinKey} ${v[pinKey]}`);
    }
    if (!versionAtLeast(k8s, knative.kubernetes_min))
      out.push(`knative ${v.knative} needs Kubernetes >= ${knative.kubernetes_min}, pinned ${k8s}`);
  }
  const ekb = (c.eventing_kafka_broker ?? []).find((e) => e.module === v.eventing_kafka_broker_module);
  if (!ekb)
    out.push(`eventing-kafka-broker ${v.eventing_kafka_broker_module}: no entry in compatibility.yaml`);
  else if (ekb.eventing_module !== v.knative_eventing_module)
    out.push(
      `eventing-kafka-broker ${v.eventing_kafka_broker_module} is built against eventing ${ekb.eventing_module}, pinned ${v.knative_eventing_module}`,
    );
  const kps = (c.kube_prometheus_stack ?? []).find((e) => e.chart === v.kube_prometheus_stack);
  if (!kps) out.push(`kube-prometheus-stack ${v.kube_prometheus_stack}: no entry in compatibility.yaml`);
  else {
    if (kps.prometheus_operator !== v.prometheus_operator)
      out.push(
        `kube-prometheus-stack ${v.kube_prometheus_stack} ships prometheus-operator ${kps.prometheus_operator}, pinned ${v.prometheus_operator}`,
      );
    if (!versionAtLeast(k8s, kps.kubernetes_min))
      out.push(`kube-prometheus-stack ${v.kube_prometheus_stack} needs Kubernetes >= ${kps.kubernetes_min}`);
  }
  const published = new Set((c.images ?? []).map((e) => e.image));
  for (const [key, image] of Object.entries(v)) {
    if (key.startsWith('image_') && !published.has(image))
      out.push(`${key} ${image}: no entry in compatibility.yaml images (cite where it is published)`);
  }
  return out;
}
