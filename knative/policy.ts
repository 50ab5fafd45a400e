/**
 * Policies every rendered overlay must meet (knative/manifests.test.ts runs them over `kubectl kustomize`
 * output and over deliberately bad fixtures, so each rule is shown to fail when it should):
 * - no secret values: no Secret with data, no env var holding a literal credential;
 * - every container (init containers included) non-root, no privilege escalation, read-only root
 *   filesystem, all capabilities dropped and none added, CPU and memory requests and limits;
 * - every KafkaSource with explicit retry, backoff, timeout and a dead-letter sink;
 * - every Knative Service cluster-local, with min/max scale and probes on the host's health endpoints;
 *   minute-finalizer at max-scale 1 and containerConcurrency 1.
 */
import { parseAllDocuments } from 'yaml';

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form
type Obj = Record<string, any>;

export function parseDocs(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null && typeof o === 'object');
}

const id = (o: Obj) =>
  `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
const isKnativeService = (o: Obj) =>
  o.kind === 'Service' && String(o.apiVersion).startsWith('serving.knative.dev/');

export function podSpec(o: Obj): Obj | undefined {
  if (isKnativeService(o)) return o.spec?.template?.spec;
  if (['Deployment', 'StatefulSet', 'Job', 'DaemonSet', 'ReplicaSet'].includes(o.kind))
    return o.spec?.template?.spec;
  if (o.kind === 'CronJob') return o.spec?.jobTemplate?.spec?.template?.spec;
  if (o.kind === 'Pod') return o.spec;
  return undefined;
}

/** Env var names whose literal `value` would be a credential; `_FILE` variants (a path) are fine. */
const SECRET_ENV = /(PASSWORD|TOKEN|SECRET|API_?KEY|CREDENTIALS?)$/i;

export function secretProblems(o: Obj): string[] {
  const out: string[] = [];
  if (o.kind === 'Secret') {
    const values = { ...(o.data ?? {}), ...(o.stringData ?? {}) };
    if (Object.keys(values).length > 0)
      out.push(`${id(o)}: Secret with values in the manifests (use knative/secrets templates)`);
  }
  if (o.kind === 'ConfigMap') {
    for (const [k, v] of Object.entries(o.data ?? {})) {
      if (
        typeof v === 'string' &&
        /(password|token)\s*[:=]\s*['"]?[A-Za-z0-9+/_-]{6,}/i.test(v) &&
        !/\$\(|\$\{|cat /.test(v)
      ) {
        out.push(`${id(o)}: ConfigMap key ${k} looks like it holds a credential`);
      }
    }
  }
  const spec = podSpec(o);
  for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const e of c.env ?? []) {
      if (SECRET_ENV.test(e.name) && e.value !== undefined) {
        out.push(
          `${id(o)} container ${c.name}: env ${e.name} has a literal value (use a Secret file or secretKeyRef)`,
        );
      }
    }
  }
  return out;
}

export function containerProblems(o: Obj): string[] {
  const spec = podSpec(o);
  if (!spec) return [];
  const out: string[] = [];
  const pod = spec.securityContext ?? {};
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const where = `${id(o)} container ${c.name}`;
    const sc = c.securityContext ?? {};
    const runAsNonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
    const runAsUser = sc.runAsUser ?? pod.runAsUser;
    if (runAsNonRoot !== true) out.push(`${where}: runAsNonRoot is not true`);
    if (runAsUser === 0) out.push(`${where}: runs as uid 0`);
    if (sc.privileged === true) out.push(`${where}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
    if (sc.readOnlyRootFilesystem !== true) out.push(`${where}: root filesystem is writable`);
    const caps = sc.capabilities ?? {};
    if (!(caps.drop ?? []).includes('ALL')) out.push(`${where}: capabilities are not dropped (drop: [ALL])`);
    if ((caps.add ?? []).length > 0) out.push(`${where}: adds capabilities ${caps.add.join(', ')}`);
    for (const kind of ['requests', 'limits'] as const) {
      for (const r of ['cpu', 'memory']) {
        if (c.resources?.[kind]?.[r] === undefined) out.push(`${where}: no ${r} ${kind.slice(0, -1)}`);
      }
    }
  }
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) out.push(`${id(o)}: uses host namespaces`);
  return out;
}

export function kafkaSourceProblems(o: Obj): string[] {
  if (o.kind !== 'KafkaSource') return [];
  const out: string[] = [];
  const d = o.spec?.delivery;
  if (!d) return [`${id(o)}: no spec.delivery (no dead-letter sink: undeliverable events are dropped)`];
  if (!Number.isInteger(d.retry) || d.retry < 1)
    out.push(`${id(o)}: delivery.retry must be >= 1 (setting delivery drops the default of 10)`);
  if (!['linear', 'exponential'].includes(d.backoffPolicy))
    out.push(`${id(o)}: delivery.backoffPolicy not set`);
  if (typeof d.backoffDelay !== 'string') out.push(`${id(o)}: delivery.backoffDelay not set`);
  if (typeof d.timeout !== 'string') out.push(`${id(o)}: delivery.timeout not set`);
  if (!d.deadLetterSink?.ref && !d.deadLetterSink?.uri) out.push(`${id(o)}: no delivery.deadLetterSink`);
  if (!o.spec?.consumerGroup)
    out.push(`${id(o)}: no explicit consumerGroup (offsets would not survive re-creation)`);
  if (!['ordered', 'unordered'].includes(o.spec?.ordering))
    out.push(`${id(o)}: ordering not chosen explicitly`);
  return out;
}

export function knativeServiceProblems(o: Obj): string[] {
  if (!isKnativeService(o)) return [];
  const out: string[] = [];
  if (o.metadata?.labels?.['networking.knative.dev/visibility'] !== 'cluster-local') {
    out.push(`${id(o)}: not cluster-local (label networking.knative.dev/visibility: cluster-local)`);
  }
  const ann = o.spec?.template?.metadata?.annotations ?? {};
  for (const k of ['min-scale', 'max-scale', 'metric', 'target']) {
    if (ann[`autoscaling.knative.dev/${k}`] === undefined)
      out.push(`${id(o)}: no autoscaling.knative.dev/${k}`);
  }
  const spec = o.spec?.template?.spec ?? {};
  for (const c of spec.containers ?? []) {
    if (c.readinessProbe?.httpGet?.path !== '/readyz')
      out.push(`${id(o)}: readiness probe is not GET /readyz`);
    if (c.livenessProbe?.httpGet?.path !== '/healthz')
      out.push(`${id(o)}: liveness probe is not GET /healthz`);
  }
  if (o.metadata?.name === 'minute-finalizer') {
    if (ann['autoscaling.knative.dev/max-scale'] !== '1') out.push(`${id(o)}: max-scale must be "1"`);
    if (spec.containerConcurrency !== 1) out.push(`${id(o)}: containerConcurrency must be 1`);
  }
  return out;
}

export const POLICIES = {
  'no secret values': secretProblems,
  'hardened containers with limits': containerProblems,
  'KafkaSource delivery': kafkaSourceProblems,
  'Knative Service': knativeServiceProblems,
} as const;

export function checkAll(docs: readonly Obj[]): string[] {
  return docs.flatMap((o) => Object.values(POLICIES).flatMap((p) => p(o)));
}
