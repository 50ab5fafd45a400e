/**
 * One source of version pins (versions.yaml), read by Ansible, kustomize (stamped) and the schema fetch
 * alike, and checked against the upstream facts of compatibility.yaml.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../deploy/bundle.ts';
import {
  compatibilityProblems,
  pinnedImage,
  readCompatibility,
  readVersions,
  stampedChanges,
  stampText,
  unpinnedImages,
} from './versions.ts';

const v = readVersions();
const compat = readCompatibility();
const read = (p: string) => readFileSync(join(repoRoot, p), 'utf8');

function rendered(overlay: string) {
  const text = execFileSync('kubectl', ['kustomize', join(repoRoot, 'knative/overlays', overlay)], {
    encoding: 'utf8',
    maxBuffer: 32 << 20,
  });
  // biome-ignore lint/suspicious/noExplicitAny: manifests are free-form
  return parseAllDocuments(text).map((d) => d.toJS() as any);
}
const overlays = readdirSync(join(repoRoot, 'knative/overlays')).sort();
const strimziApis = [
  ...new Set(
    overlays.flatMap((o) =>
      rendered(o)
        .map((d) => String(d.apiVersion))
        .filter((a) => a.startsWith('kafka.strimzi.io/')),
    ),
  ),
];

describe('versions.yaml', () => {
  it('is flat `key: value` lines (the shell readers depend on it)', () => {
    const raw = parse(read('versions.yaml')) as Record<string, unknown>;
    for (const [k, val] of Object.entries(raw)) {
      expect(k).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(['string', 'number'].includes(typeof val), k).toBe(true);
    }
  });

  it('is stamped into knative/ (npm run versions regenerates nothing)', () => {
    expect(stampedChanges().map(([f]) => f)).toEqual([]);
  });

  it('the stamper rewrites a drifted pin (an old JMX exporter tag, the wrong Kafka version)', () => {
    const file = join(repoRoot, 'knative/kafka/kafka.yaml');
    const drifted = read('knative/kafka/kafka.yaml').replace(`version: ${v.kafka}`, 'version: 4.0.0');
    expect(stampText(file, drifted, v)).toBe(read('knative/kafka/kafka.yaml'));
    expect(pinnedImage('bitnami/jmx-exporter:1.3.0', v)).toBe(v.image_jmx_exporter);
    expect(pinnedImage('market-pipeline/bridge:dev', v)).toBe(`${v.app_image_placeholder}/bridge`);
  });

  it('covers every image of knative/ (a third-party image is pinned here, ours carry the placeholder)', () => {
    const files = execFileSync('git', ['ls-files', 'knative/*.yaml', 'knative/**/*.yaml'], {
      cwd: repoRoot,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => f && !f.startsWith('knative/testdata/'));
    expect(files.flatMap((f) => unpinnedImages(read(f), v).map((i) => `${f}: ${i}`))).toEqual([]);
    for (const o of overlays) {
      for (const d of rendered(o)) {
        const spec = d.spec?.template?.spec;
        for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
          expect(pinnedImage(c.image, v), `${o} ${d.kind}/${d.metadata.name} ${c.name}`).toBe(c.image);
        }
      }
    }
  });
});

describe('compatibility.yaml (upstream facts, each with its source)', () => {
  it('every entry names its source', () => {
    for (const [table, rows] of Object.entries(compat)) {
      for (const row of rows)
        expect(String(row.source ?? ''), `${table} ${JSON.stringify(row)}`).not.toBe('');
    }
  });

  it('the pins meet every fact: Strimzi <-> Kafka and API version, Knative <-> Kubernetes, eventing-kafka <-> eventing', () => {
    expect(strimziApis).toEqual(['kafka.strimzi.io/v1']);
    expect(compatibilityProblems(v, compat, strimziApis)).toEqual([]);
  });

  it('catches the drift of issue 10: Strimzi 0.48.0 with v1 manifests; Strimzi 1.2.0 with Kafka 4.1.1', () => {
    expect(compatibilityProblems({ ...v, strimzi: '0.48.0' }, compat, strimziApis)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/strimzi 0\.48\.0 does not serve kafka\.strimzi\.io\/v1/),
      ]),
    );
    expect(compatibilityProblems({ ...v, strimzi: '1.2.0' }, compat, strimziApis)).toEqual([
      expect.stringMatching(/strimzi 1\.2\.0 does not support Kafka 4\.1\.1/),
    ]);
    expect(compatibilityProblems({ ...v, strimzi: '1.0.1' }, compat, strimziApis)).toEqual([
      expect.stringMatching(/strimzi 1\.0\.1: io\.strimzi:api is not on Maven Central/),
    ]);
    expect(compatibilityProblems({ ...v, kubernetes: '1.33.5' }, compat, strimziApis)).toEqual([
      expect.stringMatching(/knative 1\.23\.0 needs Kubernetes >= 1\.34\.0/),
    ]);
    expect(compatibilityProblems({ ...v, prometheus_operator: 'v0.85.0' }, compat, strimziApis)).toEqual([
      expect.stringMatching(/ships prometheus-operator v0\.89\.0, pinned v0\.85\.0/),
    ]);
    expect(
      compatibilityProblems({ ...v, image_jmx_exporter: 'bitnami/jmx-exporter:1.3.0' }, compat, strimziApis),
    ).toEqual([expect.stringMatching(/image_jmx_exporter .*no entry/)]);
  });
});

describe('every consumer reads versions.yaml', () => {
  it('the schema fetch: install-k8s-tools.sh pins nothing itself and the Strimzi pom takes the version', () => {
    const script = read('dev/setup/install-k8s-tools.sh');
    expect(script).not.toMatch(/^[A-Z_]+=["']?v?\d+\.\d+/m);
    for (const key of [
      'kubeconform',
      'kubernetes',
      'knative_serving_module',
      'knative_eventing_module',
      'eventing_kafka_broker_module',
      'prometheus_operator',
      'strimzi',
      'strimzi_crd_generator',
    ])
      expect(script).toContain(`$(pin ${key}`);
    expect(read('dev/setup/k8s/strimzi-crds.pom.xml')).not.toMatch(/<strimzi\.[a-z.-]*version>\d/);
  });

  it('the installed CRD schemas are those of the pinned releases (.stamp written by the fetch)', () => {
    const tools = process.env.MARKET_TOOLS_DIR ?? join(repoRoot, '.cache', 'tools');
    const stampFile = join(tools, 'k8s-schemas', '.stamp');
    if (!existsSync(stampFile)) throw new Error('schemas are missing: run sh dev/setup/install-k8s-tools.sh');
    const stamp = readFileSync(stampFile, 'utf8');
    const minor = v.kubernetes?.replace(/^(\d+\.\d+)\..*$/, '$1.0');
    expect(stamp).toContain(`kubernetes=${minor} `);
    expect(stamp).toContain(`serving=${v.knative_serving_module} `);
    expect(stamp).toContain(`eventing=${v.knative_eventing_module} `);
    expect(stamp).toContain(`kafka=${v.eventing_kafka_broker_module} `);
    expect(stamp).toContain(`strimzi=${v.strimzi} `);
    expect(stamp).toContain(`prometheus-operator=${v.prometheus_operator} `);
  });

  it('Ansible: group_vars load it and every role default that pins a version points at it', () => {
    expect(read('ansible/playbooks/group_vars/all/main.yml')).toMatch(
      /market_versions: "\{\{ lookup\('ansible\.builtin\.file', market_repo_root ~ '\/versions\.yaml'\) \| from_yaml \}\}"/,
    );
    const pinned: Record<string, string[]> = {
      platform: [
        'platform_knative_version',
        'platform_strimzi_version',
        'platform_helm_version',
        'platform_local_path_version',
      ],
      monitoring: ['monitoring_chart_version'],
      node_prep: [
        'node_prep_kubernetes_version',
        'node_prep_kubernetes_package_revision',
        'node_prep_containerd_package_version',
        'node_prep_pause_image',
      ],
      kubeadm_cluster: ['kubeadm_cluster_kubernetes_version'],
      cni_calico: ['cni_calico_version'],
    };
    for (const [role, vars] of Object.entries(pinned)) {
      const defaults = parse(read(`ansible/roles/${role}/defaults/main.yml`)) as Record<string, unknown>;
      for (const name of vars) expect(String(defaults[name]), `${role} ${name}`).toMatch(/market_versions\./);
    }
    const monitoring = parse(read('ansible/roles/monitoring/defaults/main.yml'));
    expect(monitoring.monitoring_grafana_plugins).toEqual(['{{ market_versions.grafana_cassandra_plugin }}']);
    // No role hard-codes a version the pin file owns.
    const roles = execFileSync('git', ['ls-files', 'ansible/roles'], { cwd: repoRoot, encoding: 'utf8' })
      .split('\n')
      .filter((f) => /\/(defaults|tasks|templates)\//.test(f));
    for (const f of roles) {
      const text = read(f);
      for (const key of ['strimzi', 'kafka', 'knative', 'kube_prometheus_stack', 'image_cassandra']) {
        expect(text.includes(`"${v[key]}"`), `${f} hard-codes ${key} ${v[key]}`).toBe(false);
      }
    }
  });

  it('the local stack runs the Kafka and Cassandra the cluster runs', () => {
    const config = read('dev/runtime/config.ts');
    expect(config).toContain(`default: '${v.kafka}'`);
    expect(config).toContain(`default: '${v.cassandra}'`);
    expect(v.image_cassandra).toBe(`cassandra:${v.cassandra}`);
  });
});
