/**
 * "Grafana is wired": what the cluster's Grafana needs to show data, checked from the sources Ansible deploys.
 * - every ${VAR} in grafana/provisioning is set in Grafana's environment by the monitoring role's Helm values
 *   (rendered by Ansible from ansible/roles/monitoring/templates/values.yaml.j2 with the role's defaults);
 * - every Secret Grafana reads (values: admin.existingSecret, envValueFrom, envFromSecret(s)) is created in
 *   Grafana's namespace by the monitoring role;
 * - the dashboards keep their folder (the sidecar's folder annotation is set on every dashboard ConfigMap);
 * - every metric name a dashboard's PromQL selects is produced by a workload or exporter of the gcp overlay:
 *   our catalogue metrics by the deployable that emits them, the rest by the producer named in
 *   shared/observability/external-metrics.ts — deployed by the overlay, selected by a PodMonitor on the port
 *   that serves it, and for the Knative data plane switched on by the monitoring role.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path, { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseDocs, podSpec } from '../knative/policy.ts';
import { METRICS, type MetricDef } from '../shared/observability/catalogue.ts';
import { EXTERNAL_METRICS, type ExternalProducer } from '../shared/observability/external-metrics.ts';
import { renderGrafanaWiring } from '../test/infra/render-monitoring.ts';
import { ansibleDir, repoRoot, tool } from '../test/infra/tools.ts';
import { parsePromql } from '../test/promql.ts';

// biome-ignore lint/suspicious/noExplicitAny: manifests and Helm values are free-form
type Obj = Record<string, any>;

const skip = process.env.INFRA_TOOLS_SKIP === '1';
const monitoringRole = join(ansibleDir, 'roles/monitoring');
const gcp = parseDocs(
  execFileSync('kubectl', ['kustomize', join(repoRoot, 'knative/overlays/gcp')], {
    encoding: 'utf8',
    maxBuffer: 32 << 20,
  }),
);
const dashboards = readdirSync(join(repoRoot, 'grafana/dashboards')).filter((f) => f.endsWith('.json'));

/** ${VAR} / $VAR references Grafana expands in provisioning files. */
function provisioningVariables(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const dir = join(repoRoot, 'grafana/provisioning');
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)],
    );
  for (const file of walk(dir)) {
    const text = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('#'))
      .join('\n');
    for (const m of text.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g)) {
      const where = found.get(m[1]!) ?? [];
      found.set(m[1]!, [...where, path.relative(repoRoot, file)]);
    }
  }
  return found;
}

/** Every Secret Grafana's pod reads, from the chart values. */
function secretsGrafanaReads(grafana: Obj): string[] {
  const names = new Set<string>();
  if (grafana.admin?.existingSecret) names.add(grafana.admin.existingSecret);
  for (const v of Object.values((grafana.envValueFrom ?? {}) as Obj)) {
    if (v.secretKeyRef?.name) names.add(v.secretKeyRef.name);
  }
  if (grafana.envFromSecret) names.add(grafana.envFromSecret);
  for (const s of (grafana.envFromSecrets ?? []) as Obj[]) names.add(s.name);
  for (const m of (grafana.extraSecretMounts ?? []) as Obj[]) if (m.secretName) names.add(m.secretName);
  return [...names].sort();
}

/** Secrets the monitoring role creates, as (namespace, name) resolved through its defaults. */
function secretsMonitoringRoleCreates(resolve: Obj): string[] {
  const tasks = parse(readFileSync(join(monitoringRole, 'tasks/main.yml'), 'utf8')) as Obj[];
  const sub = (s: string) =>
    s.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, v: string) =>
      v === 'monitoring_namespace'
        ? resolve.namespace
        : v === 'monitoring_grafana_cassandra_secret'
          ? resolve.secret
          : `<unresolved ${v}>`,
    );
  return tasks
    .filter((t) => t['ansible.builtin.include_role']?.name === 'k8s_secret')
    .map((t) => `${sub(String(t.vars.k8s_secret_namespace))}/${sub(String(t.vars.k8s_secret_name))}`)
    .sort();
}

// Where each external producer runs and how it is recognised, with the upstream source of those labels.
const PRODUCERS: Record<
  ExternalProducer,
  {
    namespace: (docs: Obj[]) => string | undefined;
    podLabels: (docs: Obj[]) => Obj | undefined;
    port: string;
    deployed: (docs: Obj[]) => boolean;
  }
> = {
  // Strimzi KafkaExporter.java (0.51.0 and 1.2.0 alike): Deployment <cluster>-kafka-exporter, labels strimzi.io/cluster,
  // strimzi.io/kind=Kafka, strimzi.io/component-type=kafka-exporter; port MetricsModel.METRICS_PORT_NAME.
  'kafka-exporter': {
    namespace: (docs) => docs.find((o) => o.kind === 'Kafka')?.metadata.namespace,
    podLabels: (docs) => {
      const k = docs.find((o) => o.kind === 'Kafka');
      return (
        k && {
          'strimzi.io/cluster': k.metadata.name,
          'strimzi.io/kind': 'Kafka',
          'strimzi.io/name': `${k.metadata.name}-kafka-exporter`,
          'strimzi.io/component-type': 'kafka-exporter',
        }
      );
    },
    port: 'tcp-prometheus',
    deployed: (docs) => docs.some((o) => o.kind === 'Kafka' && o.spec.kafkaExporter),
  },
  // eventing-kafka-broker knative-v1.23.0 data-plane/config/source/500-dispatcher.yaml: StatefulSet
  // kafka-source-dispatcher in knative-eventing, pod label app=kafka-source-dispatcher, port http-metrics.
  // Installed by ansible/roles/platform (eventing-kafka-source.yaml) whenever the overlay has a KafkaSource.
  'kafka-source-dispatcher': {
    namespace: () => 'knative-eventing',
    podLabels: () => ({ app: 'kafka-source-dispatcher' }),
    port: 'http-metrics',
    deployed: (docs) => docs.some((o) => o.kind === 'KafkaSource'),
  },
};

// Our processes: which gcp workloads emit a catalogue component's metrics.
const COMPONENT_WORKLOADS: Partial<Record<MetricDef['component'], string[]>> = {
  function: ['trade-writer', 'minute-window', 'minute-finalizer'],
  finalizer: ['minute-finalizer'],
  bridge: ['bridge'],
};

const selects = (monitor: Obj, namespace: string, labels: Obj, port: string): boolean =>
  monitor.kind === 'PodMonitor' &&
  (monitor.metadata.namespace ?? 'default') === namespace &&
  Object.entries((monitor.spec.selector.matchLabels ?? {}) as Obj).every(([k, v]) => labels[k] === v) &&
  (monitor.spec.selector.matchExpressions ?? []).length === 0 &&
  (monitor.spec.podMetricsEndpoints as Obj[]).some((e) => e.port === port);

/** Why a metric name has no producer in the gcp overlay (undefined = it has one). */
function producerProblem(name: string, docs: Obj[]): string | undefined {
  const ours = Object.values(METRICS).find((m) => m.name === name);
  if (ours) {
    const workloads = COMPONENT_WORKLOADS[ours.component];
    if (!workloads) return `${name}: emitted by ${ours.component}, which runs only in the local stack`;
    for (const w of workloads) {
      const obj = docs.find(
        (o) =>
          ['Service', 'Deployment', 'StatefulSet'].includes(o.kind) && o.metadata.name === w && podSpec(o),
      );
      if (!obj) return `${name}: workload ${w} is not in the gcp overlay`;
      const labels = obj.spec.template.metadata.labels as Obj;
      const ports = (podSpec(obj)!.containers as Obj[]).flatMap((c) =>
        (c.ports ?? []).map((p: Obj) => p.name),
      );
      // Knative renames the user container's port to user-port.
      const port = obj.kind === 'Service' ? 'user-port' : ports[0];
      if (!docs.some((m) => selects(m, obj.metadata.namespace, labels, port)))
        return `${name}: no PodMonitor scrapes ${w} on port ${port}`;
    }
    return undefined;
  }
  const ext = Object.values(EXTERNAL_METRICS).find((m) => m.name === name);
  if (!ext) return `${name}: neither in the metrics catalogue nor in external-metrics.ts`;
  const p = PRODUCERS[ext.producer];
  if (!p.deployed(docs)) return `${name}: its producer ${ext.producer} is not deployed by the gcp overlay`;
  const ns = p.namespace(docs);
  const labels = p.podLabels(docs);
  if (!ns || !labels || !docs.some((m) => selects(m, ns, labels, p.port)))
    return `${name}: no PodMonitor scrapes ${ext.producer} (namespace ${ns}) on port ${p.port}`;
  return undefined;
}

const promqlOf = (file: string): string[] => {
  const d = JSON.parse(readFileSync(join(repoRoot, 'grafana/dashboards', file), 'utf8')) as Obj;
  return (d.panels as Obj[]).flatMap((p) =>
    ((p.targets ?? []) as Obj[]).flatMap((t) => (t.expr ? [t.expr] : [])),
  );
};

describe('Grafana is wired (gcp overlay + monitoring role)', () => {
  describe.skipIf(skip)('provisioning, secrets and folders (rendered by Ansible)', () => {
    let rendered: ReturnType<typeof renderGrafanaWiring>;
    beforeAll(() => {
      if (!existsSync(tool.ansiblePlaybook))
        throw new Error('missing ansible-playbook: run sh dev/setup/install-infra-tools.sh');
      rendered = renderGrafanaWiring();
    }, 240_000);

    it('every $VAR in grafana/provisioning is set in Grafana’s environment by the monitoring values', () => {
      const grafana = rendered.values.grafana as Obj;
      const set = new Set([
        ...Object.keys((grafana.env ?? {}) as Obj),
        ...Object.keys((grafana.envValueFrom ?? {}) as Obj),
      ]);
      const vars = provisioningVariables();
      expect(vars.size).toBeGreaterThan(0);
      const unset = [...vars].filter(([v]) => !set.has(v)).map(([v, files]) => `${v} (${files.join(', ')})`);
      expect(unset).toEqual([]);
      for (const [k, v] of Object.entries((grafana.env ?? {}) as Obj))
        expect(String(v).trim(), `${k} is empty`).not.toBe('');
    });

    it('PROMETHEUS_URL points at the chart’s Prometheus Service under its route prefix', () => {
      const url = new URL(String(rendered.values.grafana.env.PROMETHEUS_URL));
      expect(url.pathname).toBe(rendered.values.prometheus.prometheusSpec.routePrefix);
      expect(url.hostname).toBe(`monitoring-kube-prometheus-prometheus.${rendered.defaults.namespace}.svc`);
      const tasks = parse(readFileSync(join(monitoringRole, 'tasks/main.yml'), 'utf8')) as Obj[];
      const release = tasks.find((t) => t['kubernetes.core.helm'])?.['kubernetes.core.helm'];
      // kube-prometheus-stack: fullname = "<release>-kube-prometheus-stack" cut to 26 characters.
      expect(`${release.name}-kube-prometheus-stack`.slice(0, 26).replace(/-$/, '')).toBe(
        url.hostname.split('.')[0]!.replace(/-prometheus$/, ''),
      );
    });

    it('every Secret Grafana reads is created in Grafana’s namespace by the monitoring role', () => {
      const reads = secretsGrafanaReads(rendered.values.grafana as Obj);
      expect(reads).toContain(rendered.defaults.secret);
      const created = new Set(secretsMonitoringRoleCreates(rendered.defaults));
      const missing = reads.filter((s) => !created.has(`${rendered.defaults.namespace}/${s}`));
      expect(missing).toEqual([]);
    });

    it('Prometheus picks up the PodMonitors of every namespace', () => {
      const spec = rendered.values.prometheus.prometheusSpec as Obj;
      expect(spec.podMonitorSelectorNilUsesHelmValues).toBe(false);
      expect(spec.serviceMonitorSelectorNilUsesHelmValues).toBe(false);
    });

    it('keeps the folder of grafana/provisioning/dashboards: every dashboard ConfigMap names it', () => {
      const provider = (
        parse(readFileSync(join(repoRoot, 'grafana/provisioning/dashboards/dashboards.yaml'), 'utf8')) as Obj
      ).providers[0] as Obj;
      const sidecar = rendered.values.grafana.sidecar.dashboards as Obj;
      expect(sidecar.folderAnnotation).toBeTruthy();
      expect(sidecar.provider.foldersFromFilesStructure).toBe(true);
      expect(sidecar.provider.allowUiUpdates).toBe(provider.allowUiUpdates);
      const dashboardMaps = rendered.configMaps.filter(
        (c) => c.metadata.labels?.[sidecar.label] === sidecar.labelValue,
      );
      expect(dashboardMaps.map((c) => Object.keys(c.data)[0]).sort()).toEqual([...dashboards].sort());
      for (const c of dashboardMaps)
        expect(c.metadata.annotations?.[sidecar.folderAnnotation]).toBe(provider.folder);
    });
  });

  it('the Knative data plane is told to serve Prometheus metrics by the monitoring role', () => {
    const cm = parseAllDocuments(
      readFileSync(join(monitoringRole, 'templates/knative-observability.yaml.j2'), 'utf8'),
    )[0]?.toJS() as Obj;
    expect(cm.metadata).toEqual({ name: 'config-observability', namespace: 'knative-eventing' });
    expect(cm.data['metrics-protocol']).toBe('prometheus');
    const tasks = readFileSync(join(monitoringRole, 'tasks/main.yml'), 'utf8');
    expect(tasks).toContain('knative-observability.yaml.j2');
  });

  it.each(dashboards)('%s: every PromQL parses', (file) => {
    for (const expr of promqlOf(file)) expect(parsePromql(expr).errors, expr).toEqual([]);
  });

  it.each(dashboards)('%s: every metric it queries is produced and scraped in the gcp overlay', (file) => {
    const names = [...new Set(promqlOf(file).flatMap((e) => parsePromql(e).metrics))].sort();
    const problems = names.map((n) => producerProblem(n, gcp)).filter((p) => p !== undefined);
    expect(problems).toEqual([]);
  });

  it('the check fails for a local-only metric, an unknown one, and an exporter that is not deployed', () => {
    expect(producerProblem(METRICS.dispatcherLag.name, gcp)).toMatch(/only in the local stack/);
    expect(producerProblem('kafka_something_else', gcp)).toMatch(/neither in the metrics catalogue/);
    const withoutExporter = gcp.map((o) =>
      o.kind === 'Kafka' ? { ...o, spec: { ...o.spec, kafkaExporter: undefined } } : o,
    );
    expect(producerProblem(EXTERNAL_METRICS.kafkaConsumerGroupLag.name, withoutExporter)).toMatch(
      /not deployed/,
    );
    const withoutMonitor = gcp.filter(
      (o) => !(o.kind === 'PodMonitor' && o.metadata.name === 'kafka-source-dispatcher'),
    );
    expect(producerProblem(EXTERNAL_METRICS.knDispatchLatency.name, withoutMonitor)).toMatch(/no PodMonitor/);
  });
});
