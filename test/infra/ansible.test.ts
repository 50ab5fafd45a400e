// Offline validation of ansible/ with the real tools: syntax check of every playbook, ansible-lint
// (production profile), yamllint, the HAProxy config rendered by the role's own template task (which runs
// `haproxy -c` as its validator) and checked again here, and the node-preparation role in check mode against
// this machine, proving that check mode reports changes without making any.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDocs } from '../../knative/policy.ts';
import { renderGrafanaWiring } from './render-monitoring.ts';
import { loadModel } from './tf-policy.ts';
import { ansibleDir, missingTools, repoRoot, run, terraformDir, tool } from './tools.ts';

const skip = process.env.INFRA_TOOLS_SKIP === '1';
const playbooks = readdirSync(path.join(ansibleDir, 'playbooks')).filter((f) => f.endsWith('.yml'));
const exampleInventory = path.join(ansibleDir, 'inventory/hosts.example.yml');

const ansibleEnv = (extra: Record<string, string> = {}) => ({
  ANSIBLE_CONFIG: path.join(ansibleDir, 'ansible.cfg'),
  ANSIBLE_ROLES_PATH: path.join(ansibleDir, 'roles'),
  ANSIBLE_LOCAL_TEMP: mkdtempSync(path.join(tmpdir(), 'ansible-local-')),
  ANSIBLE_HOME: mkdtempSync(path.join(tmpdir(), 'ansible-home-')),
  ...extra,
});

function recap(output: string): Record<string, number> {
  const line = output.split('\n').find((l) => /^localhost\s+:\s+ok=/.test(l));
  if (!line) throw new Error(`no play recap in:\n${output}`);
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

describe.skipIf(skip)('ansible (offline)', () => {
  beforeAll(() => {
    const missing = missingTools();
    if (missing.length)
      throw new Error(`missing ${missing.join(', ')}: run sh dev/setup/install-infra-tools.sh`);
  });

  it('has the expected playbooks', () => {
    expect(playbooks).toEqual(
      expect.arrayContaining([
        'site.yml',
        'preflight.yml',
        'nodes.yml',
        'cluster.yml',
        'gateway.yml',
        'platform.yml',
        'apps.yml',
      ]),
    );
  });

  it.each(playbooks)(
    'ansible-playbook --syntax-check %s',
    (playbook) => {
      const res = run(
        tool.ansiblePlaybook,
        ['-i', exampleInventory, '--syntax-check', `playbooks/${playbook}`],
        {
          cwd: ansibleDir,
          env: ansibleEnv(),
        },
      );
      expect(res.status, res.output).toBe(0);
    },
    60_000,
  );

  it('--syntax-check fails on a broken playbook', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ansible-bad-'));
    writeFileSync(
      path.join(dir, 'bad.yml'),
      '- hosts: all\n  tasks:\n    - name: x\n      ansible.builtin.debug:\n      msg: [unclosed\n',
    );
    const res = run(
      tool.ansiblePlaybook,
      ['-i', exampleInventory, '--syntax-check', path.join(dir, 'bad.yml')],
      {
        cwd: ansibleDir,
        env: ansibleEnv(),
      },
    );
    expect(res.status).not.toBe(0);
  }, 60_000);

  it('passes ansible-lint (production profile) on every playbook and role', () => {
    const res = run(tool.ansibleLint, ['--offline', '--nocolor'], {
      cwd: ansibleDir,
      env: ansibleEnv(),
      timeoutMs: 300_000,
    });
    expect(res.status, res.output).toBe(0);
    expect(res.output).toContain("Profile 'production' was required, and it passed");
  }, 300_000);

  it('ansible-lint rejects a sloppy role', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ansible-lint-bad-'));
    cpSync(path.join(ansibleDir, '.ansible-lint'), path.join(dir, '.ansible-lint'));
    mkdirSync(path.join(dir, 'playbooks'));
    writeFileSync(
      path.join(dir, 'playbooks/bad.yml'),
      '---\n- name: Bad\n  hosts: all\n  tasks:\n    - shell: curl http://example.invalid | sh\n',
    );
    const res = run(tool.ansibleLint, ['--offline', '--nocolor', 'playbooks/bad.yml'], {
      cwd: dir,
      env: ansibleEnv(),
      timeoutMs: 300_000,
    });
    expect(res.status).not.toBe(0);
    expect(res.output).toMatch(/name\[missing\]|fqcn|no-changed-when|command-instead-of-module/);
  }, 300_000);

  it('passes yamllint', () => {
    const res = run(tool.yamllint, ['-s', '.'], { cwd: ansibleDir });
    expect(res.status, res.output).toBe(0);
  }, 60_000);

  describe('HAProxy gateway configuration', () => {
    let work: string;
    let certPath: string;

    const render = (vars: Record<string, unknown>) => {
      const out = path.join(work, `out-${Math.random().toString(36).slice(2)}`);
      const playbook = path.join(work, 'render.yml');
      writeFileSync(
        playbook,
        [
          '- name: Render the gateway configuration',
          '  hosts: localhost',
          '  connection: local',
          '  gather_facts: false',
          '  tasks:',
          '    - name: Render and validate haproxy.cfg',
          '      ansible.builtin.include_role:',
          '        name: haproxy_gateway',
          '        tasks_from: config',
          '',
        ].join('\n'),
      );
      const varsFile = path.join(work, `vars-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(
        varsFile,
        JSON.stringify({
          haproxy_gateway_config_dir: out,
          haproxy_gateway_cert_path: certPath,
          haproxy_gateway_manage_service: false,
          ansible_python_interpreter: tool.python,
          ...vars,
        }),
      );
      const res = run(tool.ansiblePlaybook, ['-i', 'localhost,', playbook, '-e', `@${varsFile}`], {
        cwd: work,
        env: ansibleEnv(),
      });
      return { res, cfg: path.join(out, 'haproxy.cfg') };
    };

    beforeAll(() => {
      work = mkdtempSync(path.join(tmpdir(), 'haproxy-'));
      // `crt` files must exist when haproxy checks the configuration: a throw-away self-signed pair.
      const key = path.join(work, 'key.pem');
      const crt = path.join(work, 'crt.pem');
      const gen = run('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        crt,
        '-days',
        '1',
        '-subj',
        '/CN=203.0.113.10',
      ]);
      expect(gen.status, gen.output).toBe(0);
      certPath = path.join(work, 'gateway.pem');
      writeFileSync(certPath, readFileSync(crt, 'utf8') + readFileSync(key, 'utf8'));
    }, 60_000);

    it('renders with Ansible and passes haproxy -c without warnings', () => {
      const { res, cfg } = render({
        worker_private_ips: ['10.20.0.21', '10.20.0.22', '10.20.0.23'],
        haproxy_gateway_admin_cidrs: ['198.51.100.7/32', '203.0.113.0/24'],
      });
      expect(res.status, res.output).toBe(0);
      const check = run(tool.haproxy, ['-c', '-f', cfg]);
      expect(check.status, check.output).toBe(0);
      expect(check.output).toContain('Configuration file is valid');
      expect(check.output).not.toMatch(/\[WARNING\]|\[ALERT\]/);

      const text = readFileSync(cfg, 'utf8');
      // Grafana is the only public UI, over TLS; plain HTTP only redirects.
      expect(text).toMatch(/bind :443 ssl crt /);
      expect(text).toMatch(/frontend http_redirect\n\s+bind :80\n\s+http-request redirect scheme https/);
      // Admin UIs: allowlist plus loopback (SSH tunnel), everything else denied.
      expect(text).toContain('acl admin_allowlisted src 127.0.0.1/32 198.51.100.7/32 203.0.113.0/24');
      expect(text).toContain('http-request deny deny_status 403 unless admin_allowlisted');
      expect(text).toContain('server node3 10.20.0.23:30300');
      // The API server is not behind this single VM.
      expect(text).not.toMatch(/:6443/);
    }, 120_000);

    it('routes every UI to a NodePort something serves, with the health path the app answers on; the firewall opens exactly those', () => {
      const { res, cfg } = render({ worker_private_ips: ['10.20.0.21'] });
      expect(res.status, res.output).toBe(0);
      const text = readFileSync(cfg, 'utf8');
      // backend name -> { port, health }
      const backends = new Map<string, { port: number; health?: string }>();
      for (const block of text.split(/\n(?=backend )/).filter((b) => b.startsWith('backend '))) {
        const name = /^backend (\S+)/.exec(block)![1]!;
        const server = /server \S+ [\d.]+:(\d+)/.exec(block);
        if (!server) continue;
        backends.set(name, { port: Number(server[1]), health: /option httpchk GET (\S+)/.exec(block)?.[1] });
      }
      expect([...backends.keys()].sort()).toEqual([
        'admin_alertmanager',
        'admin_kafdrop',
        'admin_prometheus',
        'grafana',
      ]);

      // What serves NodePorts: the gcp overlay's NodePort Services (with their pods' readiness paths) and the
      // Helm values of the monitoring role.
      const gcp = parseDocs(
        execFileSync('kubectl', ['kustomize', path.join(repoRoot, 'knative/overlays/gcp')], {
          encoding: 'utf8',
          maxBuffer: 32 << 20,
        }),
      );
      const served = new Map<number, { what: string; health?: string }>();
      for (const svc of gcp.filter((o) => o.kind === 'Service' && o.spec?.type === 'NodePort')) {
        const pods = gcp.find(
          (o) =>
            o.kind === 'Deployment' &&
            Object.entries(svc.spec.selector).every(([k, v]) => o.spec.template.metadata.labels[k] === v),
        );
        for (const p of svc.spec.ports)
          served.set(p.nodePort, {
            what: `Service ${svc.metadata.name}`,
            health: pods?.spec.template.spec.containers[0].readinessProbe?.httpGet?.path,
          });
      }
      const { values } = renderGrafanaWiring();
      served.set(Number(values.grafana.service.nodePort), { what: 'Grafana', health: '/api/health' });
      served.set(Number(values.prometheus.service.nodePort), {
        what: 'Prometheus',
        health: `${values.prometheus.prometheusSpec.routePrefix}/-/ready`,
      });
      served.set(Number(values.alertmanager.service.nodePort), {
        what: 'Alertmanager',
        health: `${values.alertmanager.alertmanagerSpec.routePrefix}/-/ready`,
      });
      for (const [name, b] of backends) {
        const s = served.get(b.port);
        expect(s, `${name} routes to NodePort ${b.port}, which nothing serves`).toBeDefined();
        expect(b.health, `${name} health check`).toBe(s!.health);
      }
      // The Kafka UI runs under the path prefix the gateway routes.
      const kafdrop = gcp.find((o) => o.kind === 'Deployment' && o.metadata.name === 'kafdrop');
      const args = kafdrop?.spec.template.spec.containers[0].env.find(
        (e: { name: string }) => e.name === 'CMD_ARGS',
      ).value;
      expect(args).toContain('--server.servlet.context-path=/kafdrop');

      // Terraform lets the gateway reach exactly these NodePorts on the workers.
      const tfPorts = (loadModel(terraformDir).variables.get('gateway_node_ports')!.default as string[]).map(
        (p) => Number(p.replace(/"/g, '')),
      );
      expect([...tfPorts].sort()).toEqual([...new Set([...backends.values()].map((b) => b.port))].sort());
    }, 300_000);

    it('the role refuses a config haproxy rejects (invalid allowlist entry)', () => {
      const { res, cfg } = render({
        worker_private_ips: ['10.20.0.21'],
        haproxy_gateway_admin_cidrs: ['not-a-network'],
      });
      expect(res.status).not.toBe(0);
      expect(res.output).toMatch(/failed to validate|haproxy/i);
      expect(existsSync(cfg)).toBe(false);
    }, 120_000);

    it('haproxy -c rejects the rendered config when the certificate is missing', () => {
      const { res, cfg } = render({ worker_private_ips: ['10.20.0.21'] });
      expect(res.status, res.output).toBe(0);
      const broken = path.join(work, 'broken.cfg');
      writeFileSync(broken, readFileSync(cfg, 'utf8').replaceAll(certPath, path.join(work, 'absent.pem')));
      const check = run(tool.haproxy, ['-c', '-f', broken]);
      expect(check.status).not.toBe(0);
    }, 120_000);
  });

  describe('node_prep in check mode against this machine', () => {
    // What the role would touch; hashed before and after to prove check mode changed nothing.
    const watched = [
      '/etc/sysctl.d',
      '/etc/modules-load.d',
      '/etc/apt/sources.list.d',
      '/etc/apt/keyrings',
      '/etc/containerd',
      '/etc/crictl.yaml',
      '/etc/fstab',
      '/etc/hosts',
    ];
    const snapshot = () => {
      const h = createHash('sha256');
      const walk = (p: string) => {
        if (!existsSync(p)) return h.update(`absent ${p}\n`);
        const st = statSync(p);
        h.update(`${p} ${st.mode} ${st.size} ${st.mtimeMs}\n`);
        if (st.isDirectory()) for (const f of readdirSync(p).sort()) walk(path.join(p, f));
        else h.update(readFileSync(p));
      };
      for (const p of watched) walk(p);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
      h.update(run('dpkg-query', ['-W', '-f', '${Package} ${Version} ${Status}\\n']).stdout);
      h.update(run('dpkg', ['--get-selections']).stdout);
      return h.digest('hex');
    };

    it('reports pending changes, fails nothing, and leaves the machine untouched', () => {
      const inventory = path.join(mkdtempSync(path.join(tmpdir(), 'inv-')), 'hosts.yml');
      // System Python: the apt modules need python3-apt, which only the distribution's Python has.
      writeFileSync(
        inventory,
        [
          'all:',
          '  children:',
          '    k8s_cluster:',
          '      children:',
          '        control_plane:',
          '          hosts:',
          '            localhost:',
          '              ansible_connection: local',
          '              ansible_python_interpreter: /usr/bin/python3',
          '',
        ].join('\n'),
      );
      const before = snapshot();
      const res = run(tool.ansiblePlaybook, ['-i', inventory, 'playbooks/nodes.yml', '--check', '--diff'], {
        cwd: ansibleDir,
        env: ansibleEnv(),
        timeoutMs: 300_000,
      });
      const after = snapshot();
      expect(res.status, res.output).toBe(0);
      const stats = recap(res.stdout);
      expect(stats.failed).toBe(0);
      expect(stats.unreachable).toBe(0);
      // A fresh machine has no containerd/kube packages: check mode must say it would change things.
      expect(stats.changed).toBeGreaterThan(0);
      expect(res.stdout).toContain('Configure containerd for kubeadm');
      expect(after).toBe(before);
    }, 300_000);
  });
});
