// Sizing of the GCP cluster against what knative/overlays/gcp and the monitoring role put on it:
// - enough workers for the pods that must each have their own (required hostname anti-affinity): Terraform's
//   worker_count validation refuses fewer, so `worker_count = 2` can no longer leave cassandra-2 Pending;
// - the worst-case disk use of one worker fits its boot disk. The cluster has no cloud volumes (kubeadm, no
//   CSI driver): local-path volumes and emptyDirs live on the boot disk. Pods spread one per node count once;
//   everything else might land on the same worker, so it all counts.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDocs, podSpec } from '../../knative/policy.ts';
import { renderGrafanaWiring } from './render-monitoring.ts';
import { loadModel } from './tf-policy.ts';
import { repoRoot, run, terraformDir, tool } from './tools.ts';

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form
type Obj = Record<string, any>;

const skip = process.env.INFRA_TOOLS_SKIP === '1';
const GIB = 2 ** 30;
/** Kubernetes quantity (Ki, Mi, Gi, Ti, k, M, G, T or plain bytes) in bytes. */
function bytes(q: string | number): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]i?|k)?$/.exec(String(q).trim());
  if (!m) throw new Error(`not a quantity: ${q}`);
  const unit = m[2] ?? '';
  const pow = { '': 0, k: 1, K: 1, M: 2, G: 3, T: 4 }[unit.replace('i', '')] ?? 0;
  return Number(m[1]) * (unit.endsWith('i') ? 1024 : 1000) ** pow;
}

// The kubelet reports disk pressure and evicts pods when less than 15 % of the image filesystem is free
// (default hard eviction imagefs.available<15%; on these nodes images and volumes share the boot disk).
const EVICTION_FREE_FRACTION = 0.15;
// The OS, container images (Kafka, Cassandra, Knative, Strimzi, monitoring: ~10 GiB) and logs.
const SYSTEM_RESERVE_GIB = 15;

const gcp = parseDocs(
  execFileSync('kubectl', ['kustomize', path.join(repoRoot, 'knative/overlays/gcp')], {
    encoding: 'utf8',
    maxBuffer: 32 << 20,
  }),
);

/** Pods that must each run on their own node, by workload: replicas (KafkaNodePool affinity via its template). */
function spreadWorkloads(docs: Obj[]): { name: string; replicas: number; spec: Obj }[] {
  const requiredHostname = (affinity: Obj | undefined) =>
    (affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).some(
      (t: Obj) => t.topologyKey === 'kubernetes.io/hostname',
    );
  return docs.flatMap((o) => {
    if (o.kind === 'StatefulSet' && requiredHostname(podSpec(o)?.affinity))
      return [{ name: `StatefulSet/${o.metadata.name}`, replicas: o.spec.replicas, spec: o }];
    if (o.kind === 'KafkaNodePool' && requiredHostname(o.spec.template?.pod?.affinity))
      return [{ name: `KafkaNodePool/${o.metadata.name}`, replicas: o.spec.replicas, spec: o }];
    return [];
  });
}

interface DiskUse {
  what: string;
  gib: number;
  spread: boolean;
}

/** Every volume a worker may hold, from the overlay and the monitoring values. */
function diskUses(docs: Obj[], values: Obj): DiskUse[] {
  const spread = new Set(spreadWorkloads(docs).map((w) => w.name));
  const out: DiskUse[] = [];
  for (const o of docs) {
    const key = `${o.kind}/${o.metadata.name}`;
    const isSpread = spread.has(key);
    if (o.kind === 'PersistentVolumeClaim')
      out.push({ what: key, gib: bytes(o.spec.resources.requests.storage) / GIB, spread: false });
    if (o.kind === 'StatefulSet')
      for (const t of o.spec.volumeClaimTemplates ?? [])
        out.push({
          what: `${key} ${t.metadata.name}`,
          gib: bytes(t.spec.resources.requests.storage) / GIB,
          spread: isSpread,
        });
    if (o.kind === 'KafkaNodePool')
      for (const v of o.spec.storage.volumes ?? (o.spec.storage.size ? [o.spec.storage] : []))
        out.push({ what: `${key} volume ${v.id ?? 0}`, gib: bytes(v.size) / GIB, spread: isSpread });
    const spec = podSpec(o);
    for (const v of spec?.volumes ?? [])
      if (v.emptyDir)
        out.push({
          what: `${key} emptyDir ${v.name}`,
          // An emptyDir without a limit may fill the disk: count it as unbounded.
          gib: v.emptyDir.sizeLimit ? bytes(v.emptyDir.sizeLimit) / GIB : Number.POSITIVE_INFINITY,
          spread: isSpread,
        });
  }
  const claim = (what: string, size: string | undefined) => {
    if (size) out.push({ what, gib: bytes(size) / GIB, spread: false });
  };
  claim(
    'Prometheus volume',
    values.prometheus?.prometheusSpec?.storageSpec?.volumeClaimTemplate?.spec?.resources?.requests?.storage,
  );
  if (values.grafana?.persistence?.enabled) claim('Grafana volume', values.grafana.persistence.size);
  claim(
    'Alertmanager volume',
    values.alertmanager?.alertmanagerSpec?.storage?.volumeClaimTemplate?.spec?.resources?.requests?.storage,
  );
  return out;
}

/** Smallest boot disk (GB, as Terraform sizes it) whose usable part holds the worst case of one worker. */
function requiredWorkerDiskGb(uses: DiskUse[]): number {
  const spreadGib = uses.filter((u) => u.spread).reduce((a, u) => a + u.gib, 0);
  // Every replica of a floating workload could be scheduled on one worker.
  const floatingGib = uses.filter((u) => !u.spread).reduce((a, u) => a + u.gib, 0);
  const neededGib = (spreadGib + floatingGib + SYSTEM_RESERVE_GIB) / (1 - EVICTION_FREE_FRACTION);
  return Math.ceil((neededGib * GIB) / 1e9);
}

describe.skipIf(skip)(
  'cluster sizing (terraform variables vs knative/overlays/gcp and monitoring values)',
  () => {
    let dir: string;
    const plan = (...vars: string[]) =>
      run(
        tool.tofu,
        [
          'plan',
          '-input=false',
          '-lock=false',
          `-var-file=${path.join(terraformDir, 'terraform.tfvars.example')}`,
          ...vars.flatMap((v) => ['-var', v]),
        ],
        { cwd: dir, env: { TF_DATA_DIR: path.join(dir, '.tfdata') } },
      );
    let values: Obj;

    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'tf-sizing-'));
      cpSync(path.join(terraformDir, 'variables.tf'), path.join(dir, 'variables.tf'));
      const init = run(tool.tofu, ['init', '-input=false', '-backend=false'], {
        cwd: dir,
        env: { TF_DATA_DIR: path.join(dir, '.tfdata') },
      });
      expect(init.status, init.output).toBe(0);
      values = renderGrafanaWiring().values;
    }, 300_000);

    const tfDefault = (name: string) => Number(loadModel(terraformDir).variables.get(name)?.default);

    it('needs one worker per replica of every one-pod-per-node workload, and terraform refuses fewer', () => {
      const spread = spreadWorkloads(gcp);
      expect(spread.map((w) => w.name).sort()).toEqual(['KafkaNodePool/combined', 'StatefulSet/cassandra']);
      const needed = Math.max(...spread.map((w) => w.replicas));
      expect(tfDefault('worker_count')).toBeGreaterThanOrEqual(needed);
      const tooFew = plan(`worker_count=${needed - 1}`);
      expect(tooFew.status).not.toBe(0);
      expect(tooFew.output).toContain('worker_count must be at least');
      const enough = plan(`worker_count=${needed}`);
      expect(enough.status, enough.output).toBe(0);
    }, 120_000);

    it('the worst case of one worker fits its boot disk, and terraform refuses a smaller disk', () => {
      const uses = diskUses(gcp, values);
      expect(
        uses.every((u) => Number.isFinite(u.gib)),
        JSON.stringify(uses.filter((u) => !Number.isFinite(u.gib))),
      ).toBe(true);
      const required = requiredWorkerDiskGb(uses);
      expect(tfDefault('worker_disk_gb'), JSON.stringify(uses, null, 1)).toBeGreaterThanOrEqual(required);
      const tooSmall = plan(`worker_disk_gb=${required - 1}`);
      expect(tooSmall.status).not.toBe(0);
      expect(tooSmall.output).toContain('worker_disk_gb must be at least');
    }, 120_000);

    it('the arithmetic catches the old sizes (50Gi Cassandra, 30Gi Prometheus, 5Gi Grafana, 100 GB disks)', () => {
      const old = gcp.map((o) =>
        o.kind === 'StatefulSet' && o.metadata.name === 'cassandra'
          ? {
              ...o,
              spec: {
                ...o.spec,
                volumeClaimTemplates: [
                  { metadata: { name: 'data' }, spec: { resources: { requests: { storage: '50Gi' } } } },
                ],
              },
            }
          : o,
      );
      const oldValues = {
        prometheus: {
          prometheusSpec: {
            storageSpec: { volumeClaimTemplate: { spec: { resources: { requests: { storage: '30Gi' } } } } },
          },
        },
        grafana: { persistence: { enabled: true, size: '5Gi' } },
      };
      expect(requiredWorkerDiskGb(diskUses(old, oldValues))).toBeGreaterThan(100);
    });
  },
);
