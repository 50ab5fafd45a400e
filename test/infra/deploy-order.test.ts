// The deploy-order check of the cluster path, offline: the apps role's own render tasks produce what it
// applies (namespaces, app, Jobs, the image kustomization) from the gcp overlay; from those and the Ansible
// roles this file checks that every object's namespace and CRD exist before it is applied, that every Secret
// a workload, source, sink or KafkaUser references is created by a step (from inputs preflight refuses to
// miss, one line each naming the fix), and that every image is the registry variable's or a pinned one.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { APP_IMAGES, readVersions } from '../../dev/versions/versions.ts';
import { ansibleDir, missingTools, repoRoot, run, tool } from './tools.ts';

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form
type Obj = Record<string, any>;

const skip = process.env.INFRA_TOOLS_SKIP === '1';
const versions = readVersions();
const REGISTRY = 'registry.example.test/proj/market';
const TAG = 'c0ffee123456';
const read = (p: string) => readFileSync(path.join(repoRoot, p), 'utf8');
const docs = (text: string): Obj[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null && typeof o === 'object');

const ansibleEnv = (extra: Record<string, string> = {}) => ({
  ANSIBLE_CONFIG: path.join(ansibleDir, 'ansible.cfg'),
  ANSIBLE_ROLES_PATH: path.join(ansibleDir, 'roles'),
  ANSIBLE_LOCAL_TEMP: mkdtempSync(path.join(tmpdir(), 'ansible-local-')),
  ANSIBLE_HOME: mkdtempSync(path.join(tmpdir(), 'ansible-home-')),
  ...extra,
});

/** Runs the apps role's render tasks into a fresh directory; returns what the role would apply. */
function renderApps(liveImages: Record<string, string>) {
  const dir = mkdtempSync(path.join(tmpdir(), 'apps-render-'));
  const res0 = run('cp', ['-r', path.join(repoRoot, 'knative'), path.join(dir, 'knative')]);
  expect(res0.status, res0.output).toBe(0);
  // The playbook sits next to a link to playbooks/group_vars, so versions and secret templates load as in a
  // deploy (market_repo_root, which group_vars derive from the playbook's place, is given).
  const playbooks = path.join(dir, 'playbooks');
  mkdirSync(playbooks);
  symlinkSync(path.join(ansibleDir, 'playbooks', 'group_vars'), path.join(playbooks, 'group_vars'));
  const playbook = path.join(playbooks, 'render.yml');
  writeFileSync(
    playbook,
    [
      '- name: Render the app as the apps role does',
      '  hosts: localhost',
      '  connection: local',
      '  gather_facts: false',
      '  tasks:',
      '    - name: Render',
      '      ansible.builtin.include_role:',
      '        name: apps',
      '        tasks_from: render',
      '',
    ].join('\n'),
  );
  const vars = path.join(dir, 'vars.json');
  writeFileSync(
    vars,
    JSON.stringify({
      apps_render_dir: dir,
      market_repo_root: repoRoot,
      apps_live_images: liveImages,
      ansible_python_interpreter: tool.python,
    }),
  );
  const res = run(tool.ansiblePlaybook, ['-i', 'localhost,', playbook, '-e', `@${vars}`], {
    cwd: ansibleDir,
    env: ansibleEnv({ IMAGE_REGISTRY: REGISTRY, IMAGE_TAG: TAG }),
  });
  expect(res.status, res.output).toBe(0);
  const file = (f: string) => readFileSync(path.join(dir, 'rendered', f), 'utf8');
  return {
    namespaces: docs(file('namespaces.yaml')),
    app: docs(file('app.yaml')),
    jobs: docs(file('jobs.yaml')),
  };
}

function podSpec(o: Obj): Obj | undefined {
  if (['Deployment', 'StatefulSet', 'Job'].includes(o.kind)) return o.spec?.template?.spec;
  if (o.kind === 'Service' && String(o.apiVersion).startsWith('serving.knative.dev/'))
    return o.spec?.template?.spec;
  return undefined;
}
const containersOf = (o: Obj): Obj[] => {
  const s = podSpec(o);
  return s ? [...(s.initContainers ?? []), ...(s.containers ?? [])] : [];
};

/** Every Secret an object needs: [namespace, name, key | undefined, where]. */
function secretRefs(o: Obj): [string, string, string | undefined, string][] {
  const ns = o.metadata?.namespace as string;
  const where = `${o.kind}/${ns}/${o.metadata?.name}`;
  const out: [string, string, string | undefined, string][] = [];
  const spec = podSpec(o);
  for (const v of spec?.volumes ?? []) {
    if (v.secret && !v.secret.optional)
      for (const item of v.secret.items ?? [{ key: undefined }])
        out.push([ns, v.secret.secretName, item.key, where]);
  }
  for (const c of containersOf(o)) {
    for (const e of c.env ?? []) {
      const r = e.valueFrom?.secretKeyRef;
      if (r && !r.optional) out.push([ns, r.name, r.key, where]);
    }
    for (const f of c.envFrom ?? []) if (f.secretRef) out.push([ns, f.secretRef.name, undefined, where]);
  }
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const n = node as Obj;
      if (n.secretKeyRef?.name) out.push([ns, n.secretKeyRef.name, n.secretKeyRef.key, where]);
      for (const v of Object.values(n)) walk(v);
    }
  };
  if (o.kind === 'KafkaSource') walk(o.spec?.net);
  if (o.kind === 'KafkaUser') walk(o.spec?.authentication);
  if (o.kind === 'KafkaSink' && o.spec?.auth?.secret?.ref)
    out.push([ns, o.spec.auth.secret.ref.name, undefined, where]);
  return out;
}

/** Which platform step provides each custom resource's CRD, and its controller/data plane. */
const CRD_STEPS: Record<string, string[]> = {
  'serving.knative.dev/Service': ['knative-serving-crds', 'knative-serving-core', 'kourier'],
  'sources.knative.dev/PingSource': ['knative-eventing-crds', 'knative-eventing-core'],
  'sources.knative.dev/KafkaSource': ['eventing-kafka-controller', 'eventing-kafka-source'],
  'eventing.knative.dev/KafkaSink': ['eventing-kafka-controller', 'eventing-kafka-sink'],
  'kafka.strimzi.io/Kafka': ['strimzi'],
  'kafka.strimzi.io/KafkaNodePool': ['strimzi'],
  'kafka.strimzi.io/KafkaTopic': ['strimzi'],
  'kafka.strimzi.io/KafkaUser': ['strimzi'],
  'monitoring.coreos.com/PodMonitor': ['kube-prometheus-stack'],
  'monitoring.coreos.com/ServiceMonitor': ['kube-prometheus-stack'],
  'monitoring.coreos.com/PrometheusRule': ['kube-prometheus-stack'],
};
const CORE_GROUPS = new Set([
  'v1',
  'apps',
  'batch',
  'policy',
  'networking.k8s.io',
  'rbac.authorization.k8s.io',
]);

/** The steps site.yml runs before apps.yml: platform release manifests in order, Strimzi, monitoring. */
function platformSteps(): string[] {
  const site = parse(read('ansible/playbooks/site.yml')) as Obj[];
  const order = site.map((p) => p['ansible.builtin.import_playbook']);
  expect(order.indexOf('platform.yml')).toBeLessThan(order.indexOf('apps.yml'));
  const tasks = parse(read('ansible/roles/platform/tasks/main.yml')) as Obj[];
  const applied = tasks.find((t) => t.name === 'Apply the platform manifests in dependency order');
  // A step that installs a CRD or a controller others depend on waits until it is ready.
  const needed = new Set(Object.values(CRD_STEPS).flat());
  const steps: string[] = applied?.loop.map((i: Obj) => {
    const name = String(i.name).replace(/-\{\{.*$/, '');
    if (needed.has(name)) expect(String(i.wait ?? ''), `${name} waits until it is ready`).not.toBe('');
    return name;
  });
  if (tasks.some((t) => t['kubernetes.core.helm']?.name === 'strimzi')) steps.push('strimzi');
  const monitoring = parse(read('ansible/roles/monitoring/tasks/main.yml')) as Obj[];
  if (monitoring.some((t) => t['kubernetes.core.helm']?.chart_ref === 'kube-prometheus-stack'))
    steps.push('kube-prometheus-stack');
  return steps;
}

describe.skipIf(skip)('deploy order (apps role over the gcp overlay)', () => {
  let rendered: ReturnType<typeof renderApps>;
  let objects: Obj[];

  beforeAll(() => {
    const missing = missingTools().filter((t) => ['ansiblePlaybook', 'python'].includes(t));
    if (missing.length)
      throw new Error(`missing ${missing.join(', ')}: run sh dev/setup/install-infra-tools.sh`);
    rendered = renderApps({});
    objects = [...rendered.app, ...rendered.jobs];
  }, 180_000);

  it('applies namespaces first, then Secrets, then the app, then the Jobs', () => {
    const names = (parse(read('ansible/roles/apps/tasks/main.yml')) as Obj[]).map((t) => t.name);
    const at = (n: string) => names.indexOf(n);
    for (const n of ['Create the namespaces', 'Create the app secrets', 'Apply the app', 'Apply the Jobs'])
      expect(at(n), n).toBeGreaterThan(-1);
    expect(at('Create the namespaces')).toBeLessThan(at('Create the app secrets'));
    expect(at('Create the app secrets')).toBeLessThan(at('Apply the app'));
    expect(at('Apply the app')).toBeLessThan(at('Apply the Jobs'));
    expect(rendered.app.filter((o) => o.kind === 'Job')).toEqual([]);
    expect(rendered.jobs.map((o) => o.kind)).toEqual(['Job']);
  });

  it("every object's namespace is created before it is applied (kafka too)", () => {
    const created = new Set(rendered.namespaces.map((n) => n.metadata.name));
    const secrets = docs(
      read('knative/secrets/market.template.yaml') +
        '\n---\n' +
        read('knative/secrets/kafka-auth.template.yaml'),
    );
    const needed = [...objects, ...secrets]
      .filter((o) => o.kind !== 'Namespace')
      .map((o) => o.metadata.namespace);
    expect(needed.every((n) => typeof n === 'string')).toBe(true);
    expect([...new Set(needed)].filter((n) => !created.has(n))).toEqual([]);
    expect([...created]).toEqual(expect.arrayContaining(['kafka', 'market']));
  });

  it("every custom resource's CRD, controller and data plane are installed by an earlier step", () => {
    const steps = platformSteps();
    const problems: string[] = [];
    for (const o of objects) {
      const group = String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/')[0] : 'v1';
      if (CORE_GROUPS.has(group as string)) continue;
      const needs = CRD_STEPS[`${group}/${o.kind}`];
      if (!needs) problems.push(`${o.kind} (${o.apiVersion}): no platform step known to install its CRD`);
      else
        for (const s of needs)
          if (!steps.includes(s)) problems.push(`${o.kind}/${o.metadata.name}: needs ${s}`);
    }
    expect(problems).toEqual([]);
    // The data planes come after the CRDs and controller they serve.
    const i = (s: string) => steps.indexOf(s);
    expect(i('eventing-kafka-controller')).toBeLessThan(i('eventing-kafka-sink'));
    expect(i('eventing-kafka-controller')).toBeLessThan(i('eventing-kafka-source'));
    expect(i('knative-eventing-core')).toBeLessThan(i('eventing-kafka-controller'));
  });

  it('every Secret a workload, source, sink or KafkaUser references is created by the apps role, with its key', () => {
    const created = docs(
      `${read('knative/secrets/market.template.yaml')}\n---\n${read('knative/secrets/kafka-auth.template.yaml')}`,
    );
    const byId = new Map(created.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
    const group = parse(read('ansible/playbooks/group_vars/all/main.yml')) as Obj;
    expect(group.market_secret_templates).toEqual([
      'knative/secrets/market.template.yaml',
      'knative/secrets/kafka-auth.template.yaml',
    ]);
    const problems: string[] = [];
    for (const o of objects) {
      for (const [ns, name, key, where] of secretRefs(o)) {
        const s = byId.get(`${ns}/${name}`);
        if (!s) problems.push(`${where}: Secret ${ns}/${name} is created by no step`);
        else if (key && !(key in (s.stringData ?? {})))
          problems.push(`${where}: Secret ${ns}/${name} has no key ${key}`);
      }
    }
    expect(problems).toEqual([]);
    // Sanity: the references really are found (the bridge's token, the Kafka users' passwords, the DLS auth).
    const refs = objects.flatMap(secretRefs).map(([ns, n]) => `${ns}/${n}`);
    expect(refs).toEqual(
      expect.arrayContaining([
        'market/finnhub-token',
        'kafka/kafka-password-bridge',
        'market/kafka-sasl-dead-letters',
      ]),
    );
  });

  it('every image is the registry variable’s (IMAGE_TAG for what does not run yet) or pinned in versions.yaml', () => {
    const pinned = new Set(
      Object.entries(versions)
        .filter(([k]) => k.startsWith('image_'))
        .map(([, v]) => v),
    );
    const problems: string[] = [];
    const ours = new Map<string, string>();
    for (const o of objects) {
      for (const c of containersOf(o)) {
        const img = String(c.image);
        const mine = img.match(
          new RegExp(`^${REGISTRY.replaceAll('.', '\\.')}/market-pipeline/([a-z-]+):${TAG}$`),
        );
        if (mine) ours.set(mine[1] as string, img);
        else if (!pinned.has(img)) problems.push(`${o.kind}/${o.metadata.name} ${c.name}: ${img}`);
      }
    }
    expect(problems).toEqual([]);
    expect([...ours.keys()].sort()).toEqual([...APP_IMAGES].sort());
  });

  it('a re-run keeps the images that run now (a single-function deploy is not reset, the bridge not restarted)', () => {
    const live = {
      'trade-writer': `${REGISTRY}/market-pipeline/trade-writer:5f3a9e0c1b2d`,
      bridge: `${REGISTRY}/market-pipeline/bridge@sha256:${'ab'.repeat(32)}`,
    };
    const again = renderApps(live);
    const imageOf = (kind: string, name: string) =>
      containersOf(
        [...again.app, ...again.jobs].find((o) => o.kind === kind && o.metadata.name === name) ?? {},
      )[0]?.image;
    expect(imageOf('Service', 'trade-writer')).toBe(live['trade-writer']);
    expect(imageOf('Deployment', 'bridge')).toBe(live.bridge);
    expect(imageOf('Service', 'minute-window')).toBe(`${REGISTRY}/market-pipeline/minute-window:${TAG}`);
    // Everything else renders exactly as on the first run.
    const strip = (objs: Obj[]) =>
      JSON.stringify(objs).replaceAll(live['trade-writer'], 'X').replaceAll(live.bridge, 'X');
    const first = JSON.stringify([...rendered.app, ...rendered.jobs])
      .replaceAll(`${REGISTRY}/market-pipeline/trade-writer:${TAG}`, 'X')
      .replaceAll(`${REGISTRY}/market-pipeline/bridge:${TAG}`, 'X');
    expect(strip([...again.app, ...again.jobs])).toBe(first);
  }, 180_000);

  it('a finished Job is replaced only when its rendered spec differs from the cluster', () => {
    const tasks = parse(read('ansible/roles/apps/tasks/main.yml')) as Obj[];
    const del = tasks.find((t) => t.name === 'Replace the changed Jobs');
    expect(del?.when).toBe('apps_jobs_diff.rc | default(0) == 1');
    expect(del?.['ansible.builtin.command'].argv).toEqual(expect.arrayContaining(['delete', 'job']));
  });
});

describe.skipIf(skip)('preflight refuses missing inputs, one line each naming the fix', () => {
  const inventory = path.join(ansibleDir, 'inventory/hosts.example.yml');
  const preflight = (env: Record<string, string>, extra: string[] = []) =>
    run(
      tool.ansiblePlaybook,
      [
        '-i',
        inventory,
        '-i',
        'localhost,',
        'playbooks/preflight.yml',
        '--limit',
        'localhost',
        '-e',
        `ansible_python_interpreter=${tool.python}`,
        ...extra,
      ],
      { cwd: ansibleDir, env: ansibleEnv(env) },
    );
  const inputs = [
    ...new Set(
      `${read('knative/secrets/market.template.yaml')}${read('knative/secrets/kafka-auth.template.yaml')}`.match(
        /\$\{[A-Z][A-Z0-9_]*\}/g,
      ),
    ),
  ].map((m) => m.slice(2, -1));

  it('names every secret input, IMAGE_REGISTRY and IMAGE_TAG when nothing is given', () => {
    const res = preflight({});
    expect(res.status).not.toBe(0);
    for (const name of inputs)
      expect(res.output).toContain(`- secret ${name}: export ${name}, or ${name}_FILE=<file holding it>`);
    expect(res.output).toContain(
      '- variable IMAGE_REGISTRY: export IMAGE_REGISTRY=<host>/<project>/<repository>',
    );
    expect(res.output).toContain(
      '- variable IMAGE_TAG: export the IMAGE_TAG that `npm run deploy -- images` printed',
    );
  }, 120_000);

  it('passes with every input (a secret from a _FILE), and refuses a registry that does not answer', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'preflight-'));
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'from-a-file\n');
    const env: Record<string, string> = {
      GRAFANA_ADMIN_PASSWORD: 'a-long-enough-password',
      IMAGE_TAG: TAG,
      FINNHUB_TOKEN_FILE: tokenFile,
    };
    for (const name of inputs) if (name !== 'FINNHUB_TOKEN') env[name] = `value-of-${name.toLowerCase()}`;
    // Nothing listens on port 1 of loopback: unreachable.
    const down = preflight({ ...env, IMAGE_REGISTRY: '127.0.0.1:1/proj/market' });
    expect(down.status).not.toBe(0);
    const lines = down.output.split('\n').filter((l) => /^\s+- /.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /- registry 127\.0\.0\.1:1 does not answer from here .*: check IMAGE_REGISTRY and the network/,
    );

    // A registry API root answering 401 (credentials wanted) is reachable; it runs in the same network
    // namespace as the playbook (run() isolates each command from the network).
    const server = path.join(dir, 'registry.py');
    writeFileSync(
      server,
      [
        'import http.server, os, sys',
        'class H(http.server.BaseHTTPRequestHandler):',
        '    def do_GET(self):',
        '        self.send_response(401 if self.path == "/v2/" else 404)',
        '        self.send_header("WWW-Authenticate", "Bearer realm=x")',
        '        self.end_headers()',
        '    def log_message(self, *a): pass',
        's = http.server.HTTPServer(("127.0.0.1", 21480), H)',
        'open(sys.argv[1], "w").close()',
        's.serve_forever()',
      ].join('\n'),
    );
    const ready = path.join(dir, 'ready');
    const up = run(
      'sh',
      [
        '-c',
        `python3 ${server} ${ready} & pid=$!; while [ ! -e ${ready} ]; do sleep 0.1; done; ` +
          `"$@"; rc=$?; kill $pid; exit $rc`,
        'sh',
        tool.ansiblePlaybook,
        '-i',
        inventory,
        '-i',
        'localhost,',
        'playbooks/preflight.yml',
        '--limit',
        'localhost',
        '-e',
        `ansible_python_interpreter=${tool.python}`,
        '-e',
        'preflight_registry_scheme=http',
      ],
      { cwd: ansibleDir, env: ansibleEnv({ ...env, IMAGE_REGISTRY: '127.0.0.1:21480/proj/market' }) },
    );
    expect(up.status, up.output).toBe(0);
    expect(up.output).toContain('Inventory, variables, secrets and repository inputs are present.');
  }, 180_000);
});
