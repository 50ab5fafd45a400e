/**
 * `npm run deploy -- <target> [options]`: builds, pushes and applies ONE deployable, or changes a function's
 * scale bounds, or creates the Secrets from the environment.
 *
 *   npm run deploy -- trade-writer                 bundle, image build + push, apply only its objects
 *   npm run deploy -- bridge --overlay local       same for the bridge, from another overlay
 *   npm run deploy -- schema                       re-runs the Cassandra schema Job (delete + apply)
 *   npm run deploy -- images                       bundle, build and push every image under one tag, print
 *                                                  IMAGE_TAG=<tag> (what the Ansible apps role deploys first)
 *   npm run deploy -- scale trade-writer --min 1 --max 6
 *   npm run deploy -- secrets [--overlay gcp]      Secrets from env vars (knative/secrets/*.template.yaml)
 *   add --dry-run to print every step instead of running it (nothing is built, pushed or applied; the bundle
 *   is made, and its content digest printed: the image tests build the same files into their image)
 *
 * Environment: IMAGE_REGISTRY (e.g. `europe-docker.pkg.dev/proj/market`; required to build), IMAGE_TAG
 * (default: a digest of the image's content, `c-<hex>`: see contentTag), KUBE_CONTEXT (default: kubectl's current),
 * IMAGE_BUILDER (podman|buildah|docker; default: the first one found that works).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { ENTRIES, isDeployable, repoRoot } from './bundle.ts';
import { buildCommand, contentDigest, contentTag, releaseTag } from './image.ts';

export const FUNCTIONS = ['trade-writer', 'minute-window', 'minute-finalizer'] as const;
export type KnativeFunction = (typeof FUNCTIONS)[number];
const isFunction = (n: string): n is KnativeFunction => (FUNCTIONS as readonly string[]).includes(n);

/** The objects of one deployable: everything labelled with its name (Service/Deployment, sources, monitors). */
export const SELECTOR_LABEL = 'app.kubernetes.io/name';
/** Job name -> its label value (the schema Job carries `cassandra-schema`). */
const LABEL_OF: Record<string, string> = { schema: 'cassandra-schema' };
/** Function whose scale bounds are fixed: two instances would double-apply counter corrections. */
const SINGLETONS: Record<string, { min: number; max: number }> = { 'minute-finalizer': { min: 0, max: 1 } };

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are free-form
  spec?: any;
  [k: string]: unknown;
};

export interface Step {
  readonly what: string;
  readonly cmd: readonly string[];
  readonly stdin?: string;
  /** Set on the step that bundles this deployable into dist/<name>. */
  readonly bundles?: string;
}

export class DeployError extends Error {
  override name = 'DeployError';
}

export function renderOverlay(overlay: string): K8sObject[] {
  const dir = join(repoRoot, 'knative', 'overlays', overlay);
  if (!existsSync(join(dir, 'kustomization.yaml')))
    throw new DeployError(`no overlay knative/overlays/${overlay}`);
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

export const imageRepository = (name: string) => `market-pipeline/${name}`;

/** Selects the objects of `name` and points its containers at `image`. */
export function objectsOf(all: readonly K8sObject[], name: string, image?: string): K8sObject[] {
  const label = LABEL_OF[name] ?? name;
  const picked = all
    .filter((o) => o.metadata?.labels?.[SELECTOR_LABEL] === label)
    .map((o) => structuredClone(o));
  if (picked.length === 0) throw new DeployError(`no objects labelled ${SELECTOR_LABEL}=${label}`);
  if (image) {
    let replaced = 0;
    for (const o of picked) {
      for (const c of podContainers(o)) {
        if (typeof c.image === 'string' && c.image.split(/[:@]/)[0].endsWith(imageRepository(name))) {
          c.image = image;
          replaced += 1;
        }
      }
    }
    if (replaced === 0) throw new DeployError(`no container of ${name} uses image ${imageRepository(name)}`);
  }
  return picked;
}

// biome-ignore lint/suspicious/noExplicitAny: pod specs are free-form here
export function podSpecOf(o: K8sObject): any | undefined {
  if (o.kind === 'Service' && o.apiVersion.startsWith('serving.knative.dev/')) return o.spec?.template?.spec;
  if (['Deployment', 'StatefulSet', 'Job', 'DaemonSet', 'ReplicaSet'].includes(o.kind))
    return o.spec?.template?.spec;
  if (o.kind === 'Pod') return o.spec;
  return undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: containers are free-form here
export function podContainers(o: K8sObject): any[] {
  const spec = podSpecOf(o);
  return spec ? [...(spec.initContainers ?? []), ...(spec.containers ?? [])] : [];
}

/** Bundles `name` into dist/<name> now (the tag is a digest of the bundle) and returns its content tag. */
export function bundleAndTag(name: string): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'dev/deploy/bundle.ts', name], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new DeployError(`bundle ${name} failed (exit ${r.status ?? r.signal})`);
  return contentTag(join(repoRoot, 'dist', name), readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
}

const works = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

/** The first container builder that actually works here (a docker CLI without a daemon does not). */
export function detectBuilder(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.IMAGE_BUILDER) return env.IMAGE_BUILDER;
  if (works('podman', ['info'])) return 'podman';
  if (works('buildah', ['version'])) return 'buildah';
  if (works('docker', ['info'])) return 'docker';
  return undefined;
}

export interface Options {
  readonly overlay: string;
  readonly dryRun: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly env: NodeJS.ProcessEnv;
}

function kubectl(opts: Options, ...args: string[]): string[] {
  const ctx = opts.env.KUBE_CONTEXT;
  return ['kubectl', ...(ctx ? ['--context', ctx] : []), ...args];
}

const toYaml = (objs: readonly K8sObject[]) => objs.map((o) => stringify(o)).join('---\n');

/** Where images go and what builds them; refuses without a registry, or without a builder for a real run. */
function buildTarget(opts: Options, builder: string | undefined): { registry: string; tool: string } {
  const registry = opts.env.IMAGE_REGISTRY?.replace(/\/+$/, '');
  if (!registry)
    throw new DeployError(
      'IMAGE_REGISTRY is not set (e.g. IMAGE_REGISTRY=europe-docker.pkg.dev/proj/market)',
    );
  if (!builder && !opts.dryRun) throw new DeployError('no image builder: install podman, buildah or docker');
  return { registry, tool: builder ?? 'docker' };
}

/** The steps of deploying one deployable (bundle, build, push, apply its objects only). */
export function deploySteps(name: string, opts: Options, builder: string | undefined): Step[] {
  if (!isDeployable(name))
    throw new DeployError(`unknown deployable ${name} (${Object.keys(ENTRIES).join(', ')})`);
  const { registry, tool } = buildTarget(opts, builder);
  const image = `${registry}/${imageRepository(name)}:${opts.env.IMAGE_TAG || bundleAndTag(name)}`;
  const objects = objectsOf(renderOverlay(opts.overlay), name, image);
  const steps: Step[] = [
    { what: `bundle ${name}`, cmd: ['node', '--import', 'tsx', 'dev/deploy/bundle.ts', name], bundles: name },
    { what: `build image ${image}`, cmd: buildCommand(tool, name, image) },
    { what: `push ${image}`, cmd: [tool, 'push', image] },
  ];
  const jobs = objects.filter((o) => o.kind === 'Job');
  for (const j of jobs) {
    steps.push({
      what: `delete finished Job ${j.metadata.name} (its pod template is immutable)`,
      cmd: kubectl(
        opts,
        'delete',
        'job',
        j.metadata.name,
        '-n',
        j.metadata.namespace ?? 'market',
        '--ignore-not-found',
      ),
    });
  }
  steps.push({
    what: `apply ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    cmd: kubectl(opts, 'apply', '-f', '-'),
    stdin: toYaml(objects),
  });
  const svc = objects.find((o) => o.kind === 'Service' && o.apiVersion.startsWith('serving.knative.dev/'));
  if (svc) {
    steps.push({
      what: `wait for ${name} to be Ready`,
      cmd: kubectl(
        opts,
        'wait',
        'ksvc',
        name,
        '-n',
        svc.metadata.namespace ?? 'market',
        '--for=condition=Ready',
        '--timeout=300s',
      ),
    });
  } else if (objects.some((o) => o.kind === 'Deployment')) {
    steps.push({
      what: `wait for the ${name} rollout`,
      cmd: kubectl(opts, 'rollout', 'status', `deployment/${name}`, '-n', 'market', '--timeout=300s'),
    });
  }
  return steps;
}

/**
 * Every image, bundled, built and pushed under one tag (a digest of their content tags, or IMAGE_TAG): the
 * first deploy's images, which the Ansible apps role then deploys with IMAGE_TAG=<that tag>.
 */
export function imagesSteps(opts: Options, builder: string | undefined): Step[] {
  const { registry, tool } = buildTarget(opts, builder);
  const names = Object.keys(ENTRIES);
  const tag = opts.env.IMAGE_TAG || releaseTag(names.map((n) => bundleAndTag(n)));
  const steps: Step[] = names.flatMap((name) => {
    const image = `${registry}/${imageRepository(name)}:${tag}`;
    return [
      {
        what: `bundle ${name}`,
        cmd: ['node', '--import', 'tsx', 'dev/deploy/bundle.ts', name],
        bundles: name,
      },
      { what: `build image ${image}`, cmd: buildCommand(tool, name, image) },
      { what: `push ${image}`, cmd: [tool, 'push', image] },
    ];
  });
  steps.push({
    what: `print the tag (export it for ansible-playbook apps.yml)`,
    cmd: ['echo', `IMAGE_TAG=${tag}`],
  });
  return steps;
}

/** Changes min/max scale of a function in place (a new revision with the same image and config). */
export function scaleSteps(name: string, opts: Options): Step[] {
  if (!isFunction(name))
    throw new DeployError(`scale: ${name} is not a Knative function (${FUNCTIONS.join(', ')})`);
  const { min, max } = opts;
  if (min === undefined && max === undefined) throw new DeployError('scale: give --min and/or --max');
  for (const [k, v] of [
    ['--min', min],
    ['--max', max],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0))
      throw new DeployError(`scale: ${k} must be an integer >= 0`);
  }
  if (min !== undefined && max !== undefined && max !== 0 && min > max)
    throw new DeployError('scale: --min exceeds --max');
  const fixed = SINGLETONS[name];
  if (fixed && max !== undefined && max !== fixed.max) {
    throw new DeployError(
      `scale: ${name} must keep max-scale ${fixed.max}: concurrent runs would double-apply counter corrections`,
    );
  }
  const annotations: Record<string, string> = {};
  if (min !== undefined) annotations['autoscaling.knative.dev/min-scale'] = String(min);
  if (max !== undefined) annotations['autoscaling.knative.dev/max-scale'] = String(max);
  const patch = JSON.stringify({ spec: { template: { metadata: { annotations } } } });
  return [
    {
      what: `set ${Object.entries(annotations)
        .map(([k, v]) => `${k.split('/')[1]}=${v}`)
        .join(' ')} on ksvc/${name} (a new revision)`,
      cmd: kubectl(opts, 'patch', 'ksvc', name, '-n', 'market', '--type', 'merge', '-p', patch),
    },
    {
      what: `wait for ${name} to be Ready`,
      cmd: kubectl(opts, 'wait', 'ksvc', name, '-n', 'market', '--for=condition=Ready', '--timeout=300s'),
    },
  ];
}

const PLACEHOLDER = /\$\{([A-Z][A-Z0-9_]*)\}/g;

/** Secret templates of an overlay: base secrets always, Kafka SASL secrets where the overlay has KafkaUsers. */
export function secretTemplates(overlay: string): string[] {
  const files = ['knative/secrets/market.template.yaml'];
  if (renderOverlay(overlay).some((o) => o.kind === 'KafkaUser'))
    files.push('knative/secrets/kafka-auth.template.yaml');
  return files;
}

/** Fills `${VAR}` placeholders from the environment; every missing variable is named, none is printed. */
export function renderSecrets(
  templates: readonly string[],
  env: NodeJS.ProcessEnv,
): { yaml: string; names: string[] } {
  const missing = new Set<string>();
  const texts = templates.map((t) =>
    readFileSync(join(repoRoot, t), 'utf8').replace(PLACEHOLDER, (_m, v: string) => {
      const value = env[v];
      if (value === undefined || value === '') {
        missing.add(v);
        return '';
      }
      return JSON.stringify(value);
    }),
  );
  if (missing.size > 0) throw new DeployError(`secrets: set ${[...missing].sort().join(', ')}`);
  const yaml = texts.join('\n---\n');
  const names = parseAllDocuments(yaml)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null)
    .map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
  return { yaml, names };
}

export function secretSteps(opts: Options): Step[] {
  const { yaml, names } = renderSecrets(secretTemplates(opts.overlay), opts.env);
  return [{ what: `apply Secrets ${names.join(', ')}`, cmd: kubectl(opts, 'apply', '-f', '-'), stdin: yaml }];
}

function preflight(opts: Options): string {
  const ctx = opts.env.KUBE_CONTEXT;
  const r = spawnSync('kubectl', ctx ? ['config', 'get-contexts', ctx] : ['config', 'current-context'], {
    encoding: 'utf8',
  });
  if (r.status !== 0)
    throw new DeployError(`kubectl has no ${ctx ? `context ${ctx}` : 'current context'}: ${r.stderr.trim()}`);
  return ctx ?? r.stdout.trim();
}

export function parseArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { target: string; name?: string; opts: Options } {
  const rest: string[] = [];
  let overlay = 'gcp';
  let dryRun = false;
  let min: number | undefined;
  let max: number | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] as string;
    const value = () => {
      const v = argv[i + 1];
      if (v === undefined) throw new DeployError(`${a} needs a value`);
      i += 1;
      return v;
    };
    if (a === '--dry-run') dryRun = true;
    else if (a === '--overlay') overlay = value();
    else if (a === '--min') min = Number(value());
    else if (a === '--max') max = Number(value());
    else if (a.startsWith('--')) throw new DeployError(`unknown option ${a}`);
    else rest.push(a);
  }
  const [target, name] = rest;
  if (!target)
    throw new DeployError(
      `usage: npm run deploy -- <${Object.keys(ENTRIES).join('|')}|images|scale <function>|secrets> [--overlay gcp|local] [--dry-run]`,
    );
  return {
    target,
    ...(name ? { name } : {}),
    opts: {
      overlay,
      dryRun,
      env,
      ...(min !== undefined ? { min } : {}),
      ...(max !== undefined ? { max } : {}),
    },
  };
}

export function plan(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { steps: Step[]; opts: Options } {
  const { target, name, opts } = parseArgs(argv, env);
  if (target === 'scale') {
    if (!name) throw new DeployError('usage: npm run deploy -- scale <function> --min N --max N');
    return { steps: scaleSteps(name, opts), opts };
  }
  if (target === 'secrets') return { steps: secretSteps(opts), opts };
  if (target === 'images') return { steps: imagesSteps(opts, detectBuilder(env)), opts };
  return { steps: deploySteps(target, opts, detectBuilder(env)), opts };
}

export function run(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): number {
  const { steps, opts } = plan(argv, env);
  if (opts.dryRun) {
    console.log(
      `[deploy] dry run (overlay ${opts.overlay}); only the bundle is made: nothing is built, pushed or applied`,
    );
    for (const s of steps) {
      console.log(`[deploy] would ${s.what}\n  $ ${s.cmd.join(' ')}`);
      // Secret values never reach the terminal, not even in a dry run.
      if (s.stdin && !s.what.startsWith('apply Secrets')) console.log(s.stdin.replace(/^/gm, '    '));
      if (s.bundles) {
        // Bundling only writes dist/: done for real, so the digest names exactly what the image would hold.
        const r = spawnSync(s.cmd[0] as string, s.cmd.slice(1), {
          cwd: repoRoot,
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        if (r.status !== 0) return 1;
        console.log(
          `[deploy] image content ${contentDigest(join(repoRoot, 'dist', s.bundles))} (dist/${s.bundles})`,
        );
      }
    }
    return 0;
  }
  console.log(`[deploy] kubectl context ${preflight(opts)}`);
  for (const s of steps) {
    console.log(`[deploy] ${s.what}`);
    const [cmd, ...args] = s.cmd as [string, ...string[]];
    const r = spawnSync(cmd, args, {
      cwd: repoRoot,
      stdio: [s.stdin === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'],
      ...(s.stdin !== undefined ? { input: s.stdin } : {}),
    });
    if (r.status !== 0) {
      console.error(`[deploy] failed: ${s.what} (exit ${r.status ?? r.signal})`);
      return 1;
    }
  }
  console.log('[deploy] done');
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    process.exitCode = run(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof DeployError)) throw err;
    console.error(`[deploy] ${err.message}`);
    process.exitCode = 2;
  }
}
