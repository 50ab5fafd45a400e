// Policy over the Terraform code, read through a real HCL parser (python-hcl2's hcl2tojson) rather than
// regexes. Values are resolved the way an operator's plan would see them: variables from
// terraform.tfvars.example, then their defaults; locals from their literal definitions. Whatever cannot be
// resolved is treated as unsafe, so the policy never passes by not understanding an expression.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { run, tool } from './tools.ts';

export interface Violation {
  rule:
    | 'firewall-open-to-world'
    | 'gateway-reaches-cluster-ports'
    | 'external-ip'
    | 'secret-default'
    | 'provider-credentials';
  where: string;
  detail: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const unresolved = Symbol('unresolved');
type Value = Json | typeof unresolved;

interface Model {
  resources: { type: string; name: string; body: Obj }[];
  variables: Map<string, Obj>;
  locals: Map<string, Json>;
  tfvars: Obj;
  providers: { name: string; body: Obj }[];
}

const unquote = (k: string): string => (k.startsWith('"') && k.endsWith('"') ? k.slice(1, -1) : k);

function hcl2json(paths: string[]): Obj[] {
  const res = run(tool.hcl2tojson, ['-q', '--ndjson', ...paths]);
  if (res.status !== 0) throw new Error(`hcl2tojson failed: ${res.output}`);
  return res.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Obj);
}

export function loadModel(dir: string): Model {
  const tfFiles = readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .map((f) => path.join(dir, f));
  const model: Model = { resources: [], variables: new Map(), locals: new Map(), tfvars: {}, providers: [] };
  for (const doc of hcl2json(tfFiles)) {
    for (const block of (doc.resource as Obj[] | undefined) ?? []) {
      for (const [type, named] of Object.entries(block)) {
        for (const [name, body] of Object.entries(named as Obj)) {
          if (name === '__is_block__') continue;
          model.resources.push({ type: unquote(type), name: unquote(name), body: body as Obj });
        }
      }
    }
    for (const block of (doc.variable as Obj[] | undefined) ?? []) {
      for (const [name, body] of Object.entries(block)) model.variables.set(unquote(name), body as Obj);
    }
    for (const block of (doc.locals as Obj[] | undefined) ?? []) {
      for (const [name, value] of Object.entries(block))
        if (name !== '__is_block__') model.locals.set(name, value);
    }
    for (const block of (doc.provider as Obj[] | undefined) ?? []) {
      for (const [name, body] of Object.entries(block))
        model.providers.push({ name: unquote(name), body: body as Obj });
    }
  }
  const example = readdirSync(dir).find((f) => f.endsWith('.tfvars.example'));
  if (example) model.tfvars = hcl2json([path.join(dir, example)])[0] ?? {};
  return model;
}

// python-hcl2 keeps string literals quoted ("\"tcp\"") and writes expressions as "${...}".
function resolve(model: Model, v: Json | undefined, depth = 0): Value {
  if (v === undefined || depth > 10) return unresolved;
  if (Array.isArray(v)) return v.map((x) => resolve(model, x, depth + 1)) as Json[];
  if (typeof v !== 'string') return v;
  if (v.startsWith('"') && v.endsWith('"')) {
    const inner = v.slice(1, -1).replace(/\\(["\\])/g, '$1');
    return inner.includes('${') ? unresolved : inner;
  }
  const m = /^\$\{(.*)\}$/s.exec(v);
  if (!m) return v;
  let expr = m[1]!.trim();
  const wrapped = /^(tostring|tolist|toset)\((.*)\)$/s.exec(expr);
  if (wrapped) expr = wrapped[2]!.trim();
  const list = /^\[(.*)\]$/s.exec(expr);
  if (list) {
    const items = list[1]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return items.map((item) =>
      resolve(model, /^".*"$/.test(item) ? item : `\${${item}}`, depth + 1),
    ) as Json[];
  }
  const ref = /^(var|local)\.([A-Za-z0-9_-]+)$/.exec(expr);
  if (!ref) return /^-?\d+$/.test(expr) ? Number(expr) : unresolved;
  if (ref[1] === 'local') return resolve(model, model.locals.get(ref[2]!), depth + 1);
  const name = ref[2]!;
  if (name in model.tfvars) return resolve(model, model.tfvars[name], depth + 1);
  const decl = model.variables.get(name);
  return decl && 'default' in decl ? resolve(model, decl.default, depth + 1) : unresolved;
}

const flat = (v: Value): Value[] => (Array.isArray(v) ? v.flatMap((x) => flat(x as Value)) : [v]);

function isWorldOpen(cidr: Value): boolean {
  if (cidr === unresolved || typeof cidr !== 'string') return true;
  const [addr, len] = cidr.split('/');
  if (addr === undefined || len === undefined) return false;
  // Anything wider than a /8 is "the internet" for this purpose (0.0.0.0/0, 0.0.0.0/1, ::/0, ...).
  return Number(len) < 8;
}

function portsExpose(model: Model, allow: Obj, port: number): boolean {
  const proto = resolve(model, allow.protocol);
  if (proto === unresolved) return true;
  if (!['tcp', 'all', '6'].includes(String(proto).toLowerCase())) return false;
  if (allow.ports === undefined) return true;
  return flat(resolve(model, allow.ports)).some((p) => {
    if (p === unresolved) return true;
    const [lo, hi] = String(p).split('-').map(Number);
    return hi === undefined ? lo === port : lo! <= port && port <= hi;
  });
}

/** Whether two IPv4 CIDRs overlap; anything unparsable counts as overlapping (never pass by not understanding). */
function overlaps(a: Value, b: Value): boolean {
  const parse = (c: Value): [number, number] | undefined => {
    if (typeof c !== 'string') return undefined;
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(c);
    if (!m) return undefined;
    const ip = m.slice(1, 5).reduce((acc, o) => acc * 256 + Number(o), 0);
    const len = Number(m[5]);
    const size = 2 ** (32 - len);
    const start = ip - (ip % size);
    return [start, start + size - 1];
  };
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return true;
  return x[0] <= y[1] && y[0] <= x[1];
}

/** The raw tag expressions of a list attribute (python-hcl2 keeps `local.x` as "${local.x}"). */
const tagsOf = (v: Json | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v.map((t) => String(t)) : [String(v)];

const secretName = /(password|passwd|secret|token|api_?key|private_?key|credential)/i;
const secretValue = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /AIza[0-9A-Za-z_-]{35}/,
  /"type"\s*:\s*"service_account"/,
  /"private_key_id"/,
];

/**
 * Ports of the cluster itself that the internet-facing gateway must never reach on any node: etcd client and
 * peer, the API server, the kubelet, controller-manager and scheduler. A compromised HAProxy would otherwise be
 * one hop from the cluster's keys.
 */
const CLUSTER_PORTS = [2379, 2380, 10250, 10257, 10259];

export function checkPolicy(dir: string, opts: { gateway: string; protectedPorts?: number[] }): Violation[] {
  const model = loadModel(dir);
  const violations: Violation[] = [];
  const apiPort = resolve(
    model,
    model.tfvars.api_server_port ?? model.variables.get('api_server_port')?.default,
  );
  const protectedPorts = opts.protectedPorts ?? [22, typeof apiPort === 'number' ? apiPort : 6443];

  for (const r of model.resources.filter((x) => x.type === 'google_compute_firewall')) {
    const where = `${r.type}.${r.name}`;
    const direction = resolve(model, r.body.direction ?? '"INGRESS"');
    if (direction === 'EGRESS') continue;
    // GCP applies 0.0.0.0/0 to an ingress rule that names no source at all.
    const noSource =
      r.body.source_ranges === undefined &&
      r.body.source_tags === undefined &&
      r.body.source_service_accounts === undefined;
    const sources = noSource ? ['0.0.0.0/0'] : flat(resolve(model, r.body.source_ranges ?? []));
    const open = sources.filter(isWorldOpen);
    if (open.length === 0) continue;
    for (const allow of (r.body.allow as Obj[] | undefined) ?? []) {
      const exposed = protectedPorts.filter((p) => portsExpose(model, allow, p));
      if (exposed.length > 0) {
        violations.push({
          rule: 'firewall-open-to-world',
          where,
          detail: `port(s) ${exposed.join(',')} open to ${open.map((s) => (s === unresolved ? '<unresolved>' : s)).join(',')}`,
        });
      }
    }
  }

  // The gateway shares the node subnet, so a rule is open to it when it names the gateway's tag or any source
  // range overlapping the subnet (GCP ORs source ranges and source tags). It reaches nodes when it has no
  // target tags (every VM) or names a tag any other VM carries.
  const gatewayVm = model.resources.find(
    (x) => x.type === 'google_compute_instance' && x.name === opts.gateway,
  );
  const gatewayTags = new Set(tagsOf(gatewayVm?.body.tags));
  const nodeTags = new Set(
    model.resources
      .filter((x) => x.type === 'google_compute_instance' && x.name !== opts.gateway)
      .flatMap((x) => tagsOf(x.body.tags)),
  );
  const subnets = model.resources
    .filter((x) => x.type === 'google_compute_subnetwork')
    .map((x) => resolve(model, x.body.ip_cidr_range));
  const clusterPorts = [...CLUSTER_PORTS, typeof apiPort === 'number' ? apiPort : 6443];
  for (const r of model.resources.filter((x) => x.type === 'google_compute_firewall')) {
    if (resolve(model, r.body.direction ?? '"INGRESS"') === 'EGRESS') continue;
    const ranges = flat(resolve(model, r.body.source_ranges ?? []));
    const fromGateway =
      tagsOf(r.body.source_tags).some((t) => gatewayTags.has(t)) ||
      ranges.some((range) => subnets.some((subnet) => overlaps(range, subnet))) ||
      (r.body.source_ranges === undefined &&
        r.body.source_tags === undefined &&
        r.body.source_service_accounts === undefined);
    const targets = tagsOf(r.body.target_tags);
    const toNodes =
      (targets.length === 0 && r.body.target_service_accounts === undefined) ||
      targets.some((t) => nodeTags.has(t));
    if (!fromGateway || !toNodes) continue;
    for (const allow of (r.body.allow as Obj[] | undefined) ?? []) {
      const exposed = clusterPorts.filter((p) => portsExpose(model, allow, p));
      if (exposed.length > 0) {
        violations.push({
          rule: 'gateway-reaches-cluster-ports',
          where: `${r.type}.${r.name}`,
          detail: `the internet-facing gateway can reach port(s) ${exposed.join(',')} on the nodes (scope sources by node tag)`,
        });
      }
    }
  }

  const instanceTypes = [
    'google_compute_instance',
    'google_compute_instance_template',
    'google_compute_region_instance_template',
  ];
  for (const r of model.resources.filter((x) => instanceTypes.includes(x.type))) {
    const nics = (r.body.network_interface as Obj[] | undefined) ?? [];
    const hasExternal = nics.some((n) => n.access_config !== undefined || n.ipv6_access_config !== undefined);
    if (!hasExternal) continue;
    const where = `${r.type}.${r.name}`;
    if (r.type !== 'google_compute_instance' || r.name !== opts.gateway) {
      violations.push({ rule: 'external-ip', where, detail: 'only the gateway VM may have an external IP' });
    } else if (r.body.count !== undefined || r.body.for_each !== undefined) {
      violations.push({
        rule: 'external-ip',
        where,
        detail: 'the gateway must be a single VM (no count/for_each)',
      });
    }
  }
  for (const r of model.resources.filter((x) => x.type === 'google_compute_address')) {
    const kind = resolve(model, r.body.address_type ?? '"EXTERNAL"');
    if (kind !== 'INTERNAL' && r.name !== opts.gateway) {
      violations.push({
        rule: 'external-ip',
        where: `${r.type}.${r.name}`,
        detail: 'external address not owned by the gateway',
      });
    }
  }

  for (const [name, decl] of model.variables) {
    if (!('default' in decl)) continue;
    const value = resolve(model, decl.default);
    const text =
      value === unresolved
        ? JSON.stringify(decl.default)
        : flat(value)
            .map((x) => (typeof x === 'string' ? x : JSON.stringify(x)))
            .join('\n');
    const empty = value === null || value === '' || (Array.isArray(value) && value.length === 0);
    if ((secretName.test(name) || decl.sensitive === true) && !empty) {
      violations.push({
        rule: 'secret-default',
        where: `variable.${name}`,
        detail: 'secret-like variable has a default',
      });
    } else if (secretValue.some((re) => re.test(text))) {
      violations.push({
        rule: 'secret-default',
        where: `variable.${name}`,
        detail: 'default looks like key material',
      });
    }
  }

  for (const p of model.providers) {
    if (p.body.credentials !== undefined || p.body.access_token !== undefined) {
      violations.push({
        rule: 'provider-credentials',
        where: `provider.${p.name}`,
        detail: 'credentials belong in the environment (ADC), not in code',
      });
    }
  }
  return violations;
}

// `npx tsx test/infra/tf-policy.ts [dir]` for deploy preflight or a quick look.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const dir = process.argv[2] ?? 'terraform';
  const found = checkPolicy(dir, { gateway: 'gateway' });
  for (const v of found) console.error(`[policy] ${v.rule} ${v.where}: ${v.detail}`);
  console.log(found.length === 0 ? '[policy] terraform policy ok' : `[policy] ${found.length} violation(s)`);
  process.exit(found.length === 0 ? 0 : 1);
}
