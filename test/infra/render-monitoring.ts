// Renders what the monitoring and apps roles deploy for Grafana (the kube-prometheus-stack values and the
// dashboard/datasource ConfigMaps) with Ansible itself, from the roles' templates and defaults and the
// playbooks' group_vars, so tests check the bytes the cluster would get.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { parse } from 'yaml';
import { parseDocs } from '../../knative/policy.ts';
import { ansibleDir, repoRoot, run, tool } from './tools.ts';

// biome-ignore lint/suspicious/noExplicitAny: Helm values and manifests are free-form
type Obj = Record<string, any>;

const monitoringRole = join(ansibleDir, 'roles/monitoring');
const appsRole = join(ansibleDir, 'roles/apps');

/** Render the monitoring values and the dashboard ConfigMaps exactly as the roles do, with their defaults. */
export function renderGrafanaWiring(): { values: Obj; configMaps: Obj[]; defaults: Obj } {
  const work = mkdtempSync(path.join(tmpdir(), 'grafana-wiring-'));
  const playbook = path.join(work, 'render.yml');
  writeFileSync(
    playbook,
    JSON.stringify([
      {
        name: 'Render the Grafana wiring',
        hosts: 'localhost',
        connection: 'local',
        gather_facts: false,
        vars_files: [
          join(ansibleDir, 'playbooks/group_vars/all/main.yml'),
          join(monitoringRole, 'defaults/main.yml'),
          join(appsRole, 'defaults/main.yml'),
        ],
        tasks: [
          {
            name: 'Collect the dashboards and datasources',
            'ansible.builtin.set_fact': {
              apps_dashboard_files:
                "{{ query('ansible.builtin.fileglob', apps_grafana_dashboards_glob) | sort }}",
              apps_datasource_files:
                "{{ query('ansible.builtin.fileglob', apps_grafana_datasources_glob) | sort }}",
            },
          },
          {
            name: 'Values',
            'ansible.builtin.template': {
              src: join(monitoringRole, 'templates/values.yaml.j2'),
              dest: path.join(work, 'values.yaml'),
              mode: '0600',
            },
          },
          {
            name: 'ConfigMaps',
            'ansible.builtin.template': {
              src: join(appsRole, 'templates/grafana-configmaps.yaml.j2'),
              dest: path.join(work, 'configmaps.yaml'),
              mode: '0600',
            },
          },
          {
            name: 'Resolved defaults',
            'ansible.builtin.copy': {
              content:
                '{{ {"namespace": monitoring_namespace, "secret": monitoring_grafana_cassandra_secret} | to_json }}',
              dest: path.join(work, 'defaults.json'),
              mode: '0600',
            },
          },
        ],
      },
    ]),
  );
  const res = run(
    tool.ansiblePlaybook,
    [
      '-i',
      'localhost,',
      playbook,
      '-e',
      `market_repo_root=${repoRoot}`,
      '-e',
      `ansible_python_interpreter=${tool.python}`,
    ],
    {
      cwd: work,
      env: {
        ANSIBLE_CONFIG: join(ansibleDir, 'ansible.cfg'),
        ANSIBLE_LOCAL_TEMP: mkdtempSync(path.join(tmpdir(), 'ansible-local-')),
        ANSIBLE_HOME: mkdtempSync(path.join(tmpdir(), 'ansible-home-')),
      },
      timeoutMs: 180_000,
    },
  );
  if (res.status !== 0) throw new Error(`rendering failed:\n${res.output}`);
  return {
    values: parse(readFileSync(path.join(work, 'values.yaml'), 'utf8')) as Obj,
    configMaps: parseDocs(readFileSync(path.join(work, 'configmaps.yaml'), 'utf8')),
    defaults: JSON.parse(readFileSync(path.join(work, 'defaults.json'), 'utf8')) as Obj,
  };
}
