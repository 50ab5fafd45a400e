/**
 * Runs one container of a rendered manifest with podman the way the cluster runs it: the manifest's user and
 * group, read-only root filesystem, dropped capabilities, no privilege escalation, its env (values and
 * secretKeyRefs), and its mounts (Secrets and ConfigMaps as files, emptyDirs and volume claims as fresh
 * directories). Only what this machine cannot be is overridden, explicitly by the caller: the endpoints the
 * cluster's DNS resolves, and the listen port (containers share the host network here, as Kafka and Cassandra
 * listen on 127.0.0.1).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type K8sObject, podSpecOf } from './deploy.ts';

/** Flags every `podman run` needs on these machines (Debian runc; no raising of rlimits; host network). */
export const PODMAN_RUN_FLAGS = [
  '--runtime',
  '/usr/sbin/runc',
  '--ulimit',
  'nofile=4096:4096',
  '--ulimit',
  'nproc=4096:4096',
  '--network',
  'host',
] as const;

export function podman(args: readonly string[], input?: string): string {
  const r = spawnSync('podman', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, input });
  if (r.status !== 0)
    throw new Error(
      `podman ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.error?.message}`,
    );
  return r.stdout;
}

export interface ContainerPlan {
  /** `podman run` arguments after `run` and before the image. */
  readonly args: string[];
  readonly user: { uid: number; gid: number };
  readonly readOnlyRoot: boolean;
  readonly containerPort: number | undefined;
  /** Host directories made for the mounts (removed by `cleanup`). */
  readonly scratch: string;
  cleanup(): void;
}

export interface PlanOptions {
  /** Every object of the overlay (ConfigMaps are looked up here). */
  readonly all: readonly K8sObject[];
  /** Secret name -> key -> value: what the cluster's Secrets would hold. */
  readonly secrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Env values replacing the manifest's (endpoints, ports); '' unsets a variable. */
  readonly envOverrides?: Readonly<Record<string, string>>;
  /** Knative injects PORT = the container port; here it is given explicitly (host network). */
  readonly knativePort?: number;
}

/** The `podman run` plan for the container named `containerName` of workload `o`. */
export function planContainer(o: K8sObject, containerName: string, opts: PlanOptions): ContainerPlan {
  const spec = podSpecOf(o);
  if (!spec) throw new Error(`${o.kind}/${o.metadata.name} has no pod template`);
  // biome-ignore lint/suspicious/noExplicitAny: pod specs are free-form
  const containers: any[] = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  const c = containers.find((x) => x.name === containerName);
  if (!c) throw new Error(`${o.kind}/${o.metadata.name} has no container ${containerName}`);
  const pod = spec.securityContext ?? {};
  const sc = { ...pod, ...(c.securityContext ?? {}) };
  if (sc.runAsUser === undefined) throw new Error(`${containerName}: no runAsUser in the manifest`);
  const user = { uid: Number(sc.runAsUser), gid: Number(sc.runAsGroup ?? sc.runAsUser) };
  const scratch = mkdtempSync(join(tmpdir(), `mp-pod-${containerName}-`));
  const args: string[] = ['--user', `${user.uid}:${user.gid}`];
  if (sc.readOnlyRootFilesystem === true) args.push('--read-only', '--read-only-tmpfs=false');
  if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  for (const cap of sc.capabilities?.drop ?? []) args.push('--cap-drop', cap);
  if (pod.fsGroup !== undefined) args.push('--group-add', String(pod.fsGroup));

  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.secretKeyRef) {
      const { name, key } = e.valueFrom.secretKeyRef;
      const v = opts.secrets[name]?.[key];
      if (v === undefined) throw new Error(`${containerName}: env ${e.name} needs Secret ${name}/${key}`);
      env[e.name] = v;
    } else throw new Error(`${containerName}: env ${e.name} has a source this runner does not know`);
  }
  if (opts.knativePort !== undefined) env.PORT = String(opts.knativePort);
  for (const [k, v] of Object.entries(opts.envOverrides ?? {})) {
    if (v === '') delete env[k];
    else env[k] = v;
  }
  for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`);

  // biome-ignore lint/suspicious/noExplicitAny: volumes are free-form
  const volumes = new Map<string, any>((spec.volumes ?? []).map((v: any) => [v.name, v]));
  for (const m of c.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (!v) throw new Error(`${containerName}: mount ${m.name} has no volume`);
    const dir = join(scratch, m.name);
    mkdirSync(dir, { recursive: true });
    let files: Record<string, string> | undefined;
    if (v.secret) {
      const data = opts.secrets[v.secret.secretName];
      if (!data) throw new Error(`${containerName}: volume ${m.name} needs Secret ${v.secret.secretName}`);
      files = data;
      if (v.secret.items)
        files = Object.fromEntries(
          v.secret.items.map((i: { key: string; path: string }) => {
            const value = data[i.key];
            if (value === undefined) throw new Error(`Secret ${v.secret.secretName} has no key ${i.key}`);
            return [i.path, value];
          }),
        );
    } else if (v.configMap) {
      const cm = opts.all.find((x) => x.kind === 'ConfigMap' && x.metadata.name === v.configMap.name);
      if (!cm) throw new Error(`${containerName}: no ConfigMap ${v.configMap.name}`);
      files = (cm as unknown as { data: Record<string, string> }).data;
    } else if (v.emptyDir || v.persistentVolumeClaim) {
      // Writable by the pod's user, like an emptyDir or an fsGroup-owned volume.
      chownSync(dir, user.uid, Number(pod.fsGroup ?? user.gid));
      chmodSync(dir, 0o2775);
    } else throw new Error(`${containerName}: volume ${m.name} of a kind this runner does not know`);
    if (files) {
      // Secrets and ConfigMaps are readable by the pod (0644, as Kubernetes' default mode).
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o644 });
      chmodSync(dir, 0o755);
    }
    args.push('-v', `${dir}:${m.mountPath}${m.readOnly || files ? ':ro' : ''}`);
  }
  const containerPort = c.ports?.[0]?.containerPort as number | undefined;
  return {
    args,
    user,
    readOnlyRoot: sc.readOnlyRootFilesystem === true,
    containerPort,
    scratch,
    cleanup: () => rmSync(scratch, { recursive: true, force: true }),
  };
}
