/**
 * Every overlay builds with kustomize, validates against the real schemas of its kinds (kubeconform,
 * offline, schemas installed by dev/setup/install-k8s-tools.sh), and meets the policies of knative/policy.ts.
 * Bad fixtures in knative/testdata prove the validator and each policy can fail.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { runtimeSpec } from '../dev/runtime/config.ts';
import { cassandraAppSettings } from '../dev/runtime/templates.ts';
import { readVersions } from '../dev/versions/versions.ts';
import { repoRoot } from '../test/fixtures.ts';
import { checkAll, parseDocs, podSpec, secretProblems } from './policy.ts';

const tools = process.env.MARKET_TOOLS_DIR ?? join(repoRoot, '.cache', 'tools');
const kubeconform = join(tools, 'bin', 'kubeconform');
const schemas = join(tools, 'k8s-schemas');
// Schemas of the pinned Kubernetes minor (versions.yaml; kubernetes-validate ships x.y.0 per minor).
const KUBERNETES_VERSION = readVersions().kubernetes?.replace(/^(\d+\.\d+)\..*$/, '$1.0') as string;
/** The literal env values of some containers, by name. */
const envOf = (containers: readonly { env?: { name: string; value?: string }[] }[]) =>
  Object.fromEntries(containers.flatMap((c) => (c.env ?? []).map((e) => [e.name, e.value])));
const overlays = readdirSync(join(repoRoot, 'knative', 'overlays')).sort();

function render(dir: string): string {
  return execFileSync('kubectl', ['kustomize', join(repoRoot, dir)], {
    encoding: 'utf8',
    maxBuffer: 32 << 20,
  });
}

interface Validation {
  summary: { valid: number; invalid: number; errors: number; skipped: number };
  resources: { kind: string; name: string; status: string; msg: string }[];
}

function validate(yaml: string): Validation {
  if (!existsSync(kubeconform) || !existsSync(join(schemas, '.stamp'))) {
    throw new Error('kubeconform or the schemas are missing: run sh dev/setup/install-k8s-tools.sh');
  }
  const r = spawnSync(
    kubeconform,
    [
      '-strict',
      '-summary',
      '-output',
      'json',
      '-kubernetes-version',
      KUBERNETES_VERSION,
      '-schema-location',
      `${schemas}/core/{{.NormalizedKubernetesVersion}}-local{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json`,
      '-schema-location',
      `${schemas}/crd/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json`,
      '-',
    ],
    { input: yaml, encoding: 'utf8', maxBuffer: 32 << 20 },
  );
  return JSON.parse(r.stdout) as Validation;
}

const rendered = new Map(overlays.map((o) => [o, render(`knative/overlays/${o}`)]));
const docsOf = (overlay: string) => parseDocs(rendered.get(overlay) as string);
const find = (overlay: string, kind: string, name: string) =>
  docsOf(overlay).find((o) => o.kind === kind && o.metadata?.name === name);
/** The text of the Cassandra init container's prepare-config.sh in an overlay. */
const prepareConfigOf = (overlay: string): string =>
  (find(overlay, 'ConfigMap', 'cassandra-scripts') as unknown as { data: Record<string, string> } | undefined)
    ?.data['prepare-config.sh'] ?? '';

describe('kustomize', () => {
  it('has the local and gcp overlays', () => {
    expect(overlays).toEqual(expect.arrayContaining(['gcp', 'local']));
  });

  it.each(overlays)('builds overlay %s', (overlay) => {
    const kinds = new Set(docsOf(overlay).map((o) => o.kind));
    for (const k of [
      'Service',
      'KafkaSource',
      'PingSource',
      'KafkaSink',
      'Deployment',
      'StatefulSet',
      'Job',
    ]) {
      expect(kinds, `${overlay} renders a ${k}`).toContain(k);
    }
    for (const k of [
      'Kafka',
      'KafkaNodePool',
      'KafkaTopic',
      'PodMonitor',
      'NetworkPolicy',
      'PodDisruptionBudget',
    ]) {
      expect(kinds, `${overlay} renders a ${k}`).toContain(k);
    }
  });

  it('keeps the local overlay readable without kustomize (the dispatcher fallback renders resources/namespace/labels only)', () => {
    const supported = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'commonLabels']);
    const visit = (dir: string): string[] => {
      const k = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]?.toJS() ?? {};
      const bad = Object.keys(k).filter((key) => !supported.has(key));
      const nested = ((k.resources ?? []) as string[])
        .map((r) => join(dir, r))
        .filter((p) => existsSync(join(p, 'kustomization.yaml')))
        .flatMap(visit);
      return [...bad.map((b) => `${dir}: ${b}`), ...nested];
    };
    expect(visit(join(repoRoot, 'knative/overlays/local'))).toEqual([]);
  });
});

describe('schemas (kubeconform, Kubernetes 1.34 + Knative 1.23 + Strimzi + prometheus-operator CRDs)', () => {
  it.each(overlays)('every object of overlay %s is valid against its kind schema', (overlay) => {
    const v = validate(rendered.get(overlay) as string);
    const problems = v.resources
      .filter((r) => r.status !== 'statusValid')
      .map((r) => `${r.kind}/${r.name}: ${r.msg}`);
    expect(problems).toEqual([]);
    expect(v.summary).toEqual({ valid: docsOf(overlay).length, invalid: 0, errors: 0, skipped: 0 });
  });

  it('validates the Kafka users folder and the secret templates (shape only)', () => {
    const v = validate(render('knative/kafka/users'));
    expect(v.summary.invalid + v.summary.errors).toBe(0);
    const templates = readdirSync(join(repoRoot, 'knative/secrets'))
      .map((f) =>
        readFileSync(join(repoRoot, 'knative/secrets', f), 'utf8').replace(/\$\{[A-Z0-9_]+\}/g, 'x'),
      )
      .join('\n---\n');
    const t = validate(templates);
    expect(t.summary.invalid + t.summary.errors).toBe(0);
  });

  it('rejects every object of the schema-violation fixtures', () => {
    const text = readFileSync(join(repoRoot, 'knative/testdata/schema-violations.yaml'), 'utf8');
    const v = validate(text);
    const count = parseDocs(text).length;
    expect(v.summary.valid).toBe(0);
    expect(v.summary.skipped).toBe(0);
    expect(v.summary.invalid + v.summary.errors).toBe(count);
  });
});

describe('policies', () => {
  it.each(overlays)('overlay %s meets every policy', (overlay) => {
    expect(checkAll(docsOf(overlay))).toEqual([]);
  });

  const fixtures = parseDocs(readFileSync(join(repoRoot, 'knative/testdata/policy-violations.yaml'), 'utf8'));
  it.each(fixtures.map((f) => [`${f.kind}/${f.metadata.name}`, f] as const))(
    'rejects %s',
    (_name, fixture) => {
      const expected = fixture.metadata.annotations['policy-test/expect'] as string;
      const problems = checkAll([fixture]);
      expect(
        problems.some((p) => p.includes(expected)),
        `${problems.join('\n')}\nshould include: ${expected}`,
      ).toBe(true);
    },
  );

  it('keeps secret values out of git: templates hold only VAR placeholders and no overlay includes them', () => {
    for (const f of readdirSync(join(repoRoot, 'knative/secrets'))) {
      for (const s of parseDocs(readFileSync(join(repoRoot, 'knative/secrets', f), 'utf8'))) {
        for (const [k, v] of Object.entries({ ...(s.stringData ?? {}), ...(s.data ?? {}) })) {
          const literal = String(v);
          const allowed =
            /^\$\{[A-Z][A-Z0-9_]*\}$/.test(literal) ||
            /^(SASL_PLAINTEXT|SCRAM-SHA-512|[a-z-]+)$/.test(literal);
          expect(allowed, `${f} ${s.metadata.name}.${k}`).toBe(true);
        }
        // Filled in, a template is exactly what the secret policy rejects in a manifest.
        expect(secretProblems({ ...s, stringData: { password: 'filled' } })).not.toEqual([]);
      }
    }
    for (const overlay of overlays) expect(docsOf(overlay).filter((o) => o.kind === 'Secret')).toEqual([]);
  });
});

describe('what the overlays say', () => {
  it.each(overlays)(
    '%s: minute-finalizer is a singleton (max-scale 1, containerConcurrency 1)',
    (overlay) => {
      const svc = find(overlay, 'Service', 'minute-finalizer');
      expect(svc?.spec.template.metadata.annotations['autoscaling.knative.dev/max-scale']).toBe('1');
      expect(svc?.spec.template.spec.containerConcurrency).toBe(1);
    },
  );

  it.each(overlays)(
    '%s: the bridge is one replica, recreated (never two websockets on one key)',
    (overlay) => {
      const d = find(overlay, 'Deployment', 'bridge');
      expect(d?.spec.replicas).toBe(1);
      expect(d?.spec.strategy.type).toBe('Recreate');
    },
  );

  it('gcp: no single-replica Deployment keeps its data on a node-bound volume (the bridge spool is an emptyDir)', () => {
    // The cluster's only StorageClass (ansible/roles/platform) decides whether a PVC pins its pod to a node.
    const storageClass = parseDocs(
      readFileSync(join(repoRoot, 'ansible/roles/platform/templates/default-storage-class.yaml.j2'), 'utf8'),
    ).find((o) => o.kind === 'StorageClass');
    const nodeBound = storageClass?.provisioner === 'rancher.io/local-path';
    expect(nodeBound, 'the test assumes the kubeadm cluster has no replicated volumes').toBe(true);
    const docs = docsOf('gcp');
    const pinned = docs
      .filter((o) => o.kind === 'Deployment')
      .flatMap((d) =>
        (podSpec(d)?.volumes ?? [])
          .filter((v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim)
          .map((v: { name: string }) => `Deployment/${d.metadata.name} volume ${v.name}`),
      );
    expect(pinned).toEqual([]);
    expect(docs.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.metadata.name)).toEqual([]);
    // The spool stops (drops and counts) before its emptyDir limit would get the pod evicted.
    const bridge = podSpec(find('gcp', 'Deployment', 'bridge') ?? {});
    const limit = bridge?.volumes.find((v: { name: string }) => v.name === 'spool')?.emptyDir?.sizeLimit;
    expect(limit).toBe('1Gi');
    const max = bridge?.containers[0].env.find(
      (e: { name: string }) => e.name === 'BRIDGE_SPOOL_MAX_BYTES',
    )?.value;
    expect(Number(max)).toBeLessThan(2 ** 30 * 0.8);
  });

  it('gcp: the Kafka UI is served where the gateway routes it, with its own user, reaching the listener', () => {
    const docs = docsOf('gcp');
    const svc = find('gcp', 'Service', 'kafdrop');
    const group = parse(
      readFileSync(join(repoRoot, 'ansible/playbooks/group_vars/all/main.yml'), 'utf8'),
    ) as Record<string, unknown>;
    expect(svc?.metadata.namespace).toBe('kafka');
    expect(svc?.spec.type).toBe('NodePort');
    expect(svc?.spec.ports[0].nodePort).toBe(group.kafdrop_node_port);
    const pod = podSpec(find('gcp', 'Deployment', 'kafdrop') ?? {});
    const secretVolumes = pod?.volumes.filter((v: { secret?: unknown }) => v.secret);
    const user = find('gcp', 'KafkaUser', 'kafdrop');
    expect(secretVolumes.map((v: { secret: { secretName: string } }) => v.secret.secretName)).toEqual([
      user?.spec.authentication.password.valueFrom.secretKeyRef.name,
    ]);
    // The image is pinned to a release, never a moving tag.
    expect(pod?.containers[0].image).toMatch(/:\d+\.\d+\.\d+$/);
    // Strimzi's listener NetworkPolicy lets it in.
    const peers = find('gcp', 'Kafka', 'market')?.spec.kafka.listeners.flatMap(
      (l: { networkPolicyPeers?: unknown[] }) => l.networkPolicyPeers ?? [],
    );
    expect(peers).toContainEqual({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'kafdrop' } } });
    // Every KafkaUser lives where the Strimzi User Operator looks: the Kafka cluster's namespace.
    for (const u of docs.filter((o) => o.kind === 'KafkaUser')) expect(u.metadata.namespace).toBe('kafka');
  });

  it.each(overlays)('%s: every KafkaSource dead-letters to the KafkaSink that exists', (overlay) => {
    const docs = docsOf(overlay);
    const sinks = new Set(docs.filter((o) => o.kind === 'KafkaSink').map((o) => o.metadata.name));
    const sources = docs.filter((o) => o.kind === 'KafkaSource');
    expect(sources.map((s) => s.metadata.name).sort()).toEqual(['trades', 'windows']);
    for (const s of sources) expect(sinks).toContain(s.spec.delivery.deadLetterSink.ref.name);
    const topics = docs.filter((o) => o.kind === 'KafkaTopic').map((o) => o.metadata.name);
    for (const k of docs.filter((o) => o.kind === 'KafkaSink')) expect(topics).toContain(k.spec.topic);
  });

  it.each(overlays)(
    '%s: the dead-letter topic is owned by its KafkaTopic (the KafkaSink creates no topic)',
    (overlay) => {
      const docs = docsOf(overlay);
      for (const k of docs.filter((o) => o.kind === 'KafkaSink')) {
        // With numPartitions/replicationFactor the controller creates the topic itself, as the sink's user
        // (whose ACLs lack Create), and deletes it with the sink.
        expect(k.spec.numPartitions, k.metadata.name).toBeUndefined();
        expect(k.spec.replicationFactor, k.metadata.name).toBeUndefined();
        const topic = docs.find((o) => o.kind === 'KafkaTopic' && o.metadata.name === k.spec.topic);
        expect(topic?.metadata.labels['strimzi.io/cluster']).toBe('market');
      }
      // No Kafka user may create or delete topics: topics exist only as KafkaTopics.
      for (const u of docs.filter((o) => o.kind === 'KafkaUser'))
        for (const a of u.spec.authorization.acls)
          expect(a.operations).not.toEqual(expect.arrayContaining(['Create']));
    },
  );

  it.each(overlays)("%s: Cassandra runs with the local runtime's G1 pause goal", (overlay) => {
    const pod = podSpec(find(overlay, 'StatefulSet', 'cassandra') ?? {});
    const env = envOf((pod?.containers ?? []).filter((c: { name: string }) => c.name === 'cassandra'));
    expect(env.JVM_EXTRA_OPTS).toBe(`-XX:MaxGCPauseMillis=${runtimeSpec.cassandraGcPauseMs.default}`);
  });

  it.each(overlays)(
    "%s: Cassandra's init container sets each of the app's settings as the local runtime does",
    (overlay) => {
      const prepare = prepareConfigOf(overlay);
      const set = Object.fromEntries([
        ...[...prepare.matchAll(/^\s*set_setting (\S+) (\S+)\s*$/gm)].map((m) => [m[1], m[2]]),
        ...[...prepare.matchAll(/^\s*set_nested (\S+) (\S+) (\S+)\s*$/gm)].map((m) => [
          `${m[1]}.${m[2]}`,
          m[3],
        ]),
      ]);
      // Both ways: a setting the cluster adds on its own belongs in the template's block too.
      expect(set).toEqual(cassandraAppSettings());
    },
  );

  it("Cassandra's init container sets a nested setting in its block, adds the block when the file has none", () => {
    const fn = /^ *set_nested\(\) \{\n[\s\S]*?\n *\}$/m.exec(prepareConfigOf('local'))?.[0];
    expect(fn).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'mp-set-nested-'));
    const f = join(dir, 'cassandra.yaml');
    const cases: [string, string][] = [
      // 5.0's stock file: the block commented out.
      [
        'a: 1\n#sstable:\n#  selected_format: big\nb: 2\n',
        'a: 1\n#sstable:\n#  selected_format: big\nb: 2\nsstable:\n  selected_format: bti\n',
      ],
      ['a: 1\nsstable:\n  selected_format: big\nb: 2\n', 'a: 1\nsstable:\n  selected_format: bti\nb: 2\n'],
      [
        'sstable:\n  format:\n    x: y\nb: 2\n',
        'sstable:\n  format:\n    x: y\n  selected_format: bti\nb: 2\n',
      ],
      ['a: 1\nsstable:\n  selected_format: big\n', 'a: 1\nsstable:\n  selected_format: bti\n'],
    ];
    try {
      for (const [before, after] of cases) {
        writeFileSync(f, before);
        // Twice: a second run of the init container must change nothing.
        const script = `${fn}\nset_nested sstable selected_format bti\nset_nested sstable selected_format bti\n`;
        const r = spawnSync('sh', ['-euc', script], { env: { ...process.env, f }, encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        expect(readFileSync(f, 'utf8'), before).toBe(after);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('local: one Cassandra node, one Kafka node, no authentication', () => {
    expect(find('local', 'StatefulSet', 'cassandra')?.spec.replicas).toBe(1);
    expect(find('local', 'KafkaNodePool', 'combined')?.spec.replicas).toBe(1);
    expect(docsOf('local').filter((o) => o.kind === 'KafkaUser')).toEqual([]);
  });

  it('gcp: three Cassandra and Kafka nodes, RF 3 everywhere, SCRAM + ACLs, SASL on every Kafka client', () => {
    const docs = docsOf('gcp');
    expect(find('gcp', 'StatefulSet', 'cassandra')?.spec.replicas).toBe(3);
    expect(find('gcp', 'KafkaNodePool', 'combined')?.spec.replicas).toBe(3);
    const job = podSpec(find('gcp', 'Job', 'cassandra-schema') ?? {});
    const env = envOf([...(job?.initContainers ?? []), ...(job?.containers ?? [])]);
    expect(env.CASSANDRA_REPLICATION).toBe('NetworkTopologyStrategy:dc1=3');
    expect(env.AUTH_REPLICATION).toBe('3');
    for (const t of docs.filter((o) => o.kind === 'KafkaTopic')) {
      expect(t.spec.replicas).toBe(3);
      expect(t.spec.config['min.insync.replicas']).toBe(2);
    }
    const kafka = find('gcp', 'Kafka', 'market');
    expect(kafka?.spec.kafka.authorization.type).toBe('simple');
    expect(
      kafka?.spec.kafka.listeners.every(
        (l: { authentication?: { type: string } }) => l.authentication?.type === 'scram-sha-512',
      ),
    ).toBe(true);
    for (const s of docs.filter((o) => o.kind === 'KafkaSource')) {
      expect(s.spec.net.sasl.enable).toBe(true);
      expect(s.spec.net.sasl.password.secretKeyRef.name).toMatch(/^kafka-sasl-/);
      expect(s.spec.consumers).toBe(3);
    }
    expect(find('gcp', 'KafkaSink', 'market-dead-letters')?.spec.auth.secret.ref.name).toBe(
      'kafka-sasl-dead-letters',
    );
    const bridgeEnv = podSpec(find('gcp', 'Deployment', 'bridge') ?? {})?.containers[0].env.map(
      (e: { name: string }) => e.name,
    );
    expect(bridgeEnv).toEqual(expect.arrayContaining(['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_PASSWORD_FILE']));
  });

  it('gcp: ACLs are least privilege (bridge writes market; sources read it in their own group; DLS writes dead letters; the UI only reads)', () => {
    const acls = Object.fromEntries(
      docsOf('gcp')
        .filter((o) => o.kind === 'KafkaUser')
        .map((u) => [
          u.metadata.name,
          u.spec.authorization.acls
            .map(
              (a: { resource: { type: string; name: string }; operations: string[] }) =>
                `${a.resource.type}:${a.resource.name ?? ''}:${[...a.operations].sort().join('+')}`,
            )
            .sort(),
        ]),
    );
    expect(acls).toEqual({
      // DescribeConfigs: the bridge sizes its batches from the topic's max.message.bytes.
      bridge: ['topic:market:Describe+DescribeConfigs+Write'],
      'trade-writer': ['group:trade-writer:Read', 'topic:market:Describe+Read'],
      'minute-window': ['group:minute-window:Read', 'topic:market:Describe+Read'],
      'dead-letters': ['topic:market-dead-letters:Describe+Write'],
      // The Kafka UI reads everything and changes nothing.
      kafdrop: [
        'cluster::Describe+DescribeConfigs',
        'group:*:Describe',
        'topic:*:Describe+DescribeConfigs+Read',
      ],
    });
  });

  it.each(overlays)('%s: every workload has a PodMonitor/ServiceMonitor', (overlay) => {
    const docs = docsOf(overlay);
    const monitored = new Set(
      docs
        .filter((o) => o.kind === 'PodMonitor' || o.kind === 'ServiceMonitor')
        .map(
          (m) =>
            m.spec.selector.matchLabels?.['app.kubernetes.io/name'] ??
            m.spec.selector.matchLabels?.['strimzi.io/kind'],
        ),
    );
    // Kafdrop ships no Prometheus registry (only Spring's actuator health, which the gateway checks); it is
    // an operator's browsing tool, not on the data path.
    const unmonitored = new Set(['kafdrop']);
    const workloads = docs.filter(
      (o) =>
        ['Service', 'Deployment', 'StatefulSet'].includes(o.kind) &&
        podSpec(o) &&
        !unmonitored.has(o.metadata.name),
    );
    for (const w of workloads) expect(monitored, `${w.kind}/${w.metadata.name}`).toContain(w.metadata.name);
    expect(monitored).toContain('Kafka');
  });
});
