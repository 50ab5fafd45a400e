// Offline validation of terraform/ with real tools. `tofu validate` needs the Google provider's schema,
// and terraform-provider-google cannot be obtained from the registries reachable here (the Go module
// proxy refuses it), so the route is: `tofu fmt -check` (OpenTofu built from the Go proxy), tflint with the
// bundled ruleset at preset "all", OpenTofu evaluating the variable declarations and their validation
// rules against the example tfvars, and an HCL-parsing policy check.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkPolicy } from './tf-policy.ts';
import { missingTools, run, terraformDir, tool } from './tools.ts';

const skip = process.env.INFRA_TOOLS_SKIP === '1';

function scratchCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tf-'));
  cpSync(terraformDir, dir, { recursive: true, filter: (src) => !src.includes('.terraform') });
  return dir;
}

describe.skipIf(skip)('terraform (offline)', () => {
  beforeAll(() => {
    const missing = missingTools();
    if (missing.length)
      throw new Error(`missing ${missing.join(', ')}: run sh dev/setup/install-infra-tools.sh`);
  });

  it('is formatted (tofu fmt -check)', () => {
    const res = run(tool.tofu, ['fmt', '-check', '-recursive', '-diff', terraformDir]);
    expect(res.status, res.output).toBe(0);
  });

  it('fmt -check rejects a misformatted file', () => {
    const dir = scratchCopy();
    writeFileSync(path.join(dir, 'bad.tf'), 'locals {\n  a = 1\n      bb    = 2\n}\n');
    const res = run(tool.tofu, ['fmt', '-check', dir]);
    expect(res.status).not.toBe(0);
    expect(res.stdout).toContain('bad.tf');
  });

  it('passes tflint (terraform ruleset, preset all)', () => {
    const res = run(tool.tflint, ['--chdir', terraformDir, '--no-color']);
    expect(res.status, res.output).toBe(0);
  });

  it('tflint flags an untyped, unused, undocumented variable', () => {
    const dir = scratchCopy();
    writeFileSync(path.join(dir, 'extra.tf'), 'variable "stray" {}\n');
    const res = run(tool.tflint, ['--chdir', dir, '--no-color']);
    expect(res.status).not.toBe(0);
    expect(res.output).toMatch(/terraform_typed_variables|terraform_unused_declarations/);
  });

  describe('variables evaluated by OpenTofu', () => {
    // Only variables.tf: no provider is needed to evaluate declarations and validation blocks.
    let dir: string;
    const example = path.join(terraformDir, 'terraform.tfvars.example');
    const plan = (...vars: string[]) =>
      run(
        tool.tofu,
        ['plan', '-input=false', '-lock=false', `-var-file=${example}`, ...vars.flatMap((v) => ['-var', v])],
        {
          cwd: dir,
          env: { TF_DATA_DIR: path.join(dir, '.tfdata') },
        },
      );

    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'tf-vars-'));
      cpSync(path.join(terraformDir, 'variables.tf'), path.join(dir, 'variables.tf'));
      const init = run(tool.tofu, ['init', '-input=false', '-backend=false'], {
        cwd: dir,
        env: { TF_DATA_DIR: path.join(dir, '.tfdata') },
      });
      expect(init.status, init.output).toBe(0);
    }, 60_000);

    it('accepts terraform.tfvars.example', () => {
      const res = plan();
      expect(res.status, res.output).toBe(0);
    }, 60_000);

    it('rejects SSH/admin allowlist 0.0.0.0/0', () => {
      const res = plan('admin_cidrs=["0.0.0.0/0"]');
      expect(res.status).not.toBe(0);
      expect(res.output).toContain('must not contain 0.0.0.0/0');
    }, 60_000);

    it('rejects an even control-plane count (etcd quorum)', () => {
      const res = plan('control_plane_count=2');
      expect(res.status).not.toBe(0);
      expect(res.output).toContain('odd number');
    }, 60_000);

    it('rejects a missing operator allowlist', () => {
      const vars = readFileSync(example, 'utf8').replace(/^admin_cidrs.*$/m, '');
      const file = path.join(dir, 'no-admin.tfvars');
      writeFileSync(file, vars);
      const res = run(tool.tofu, ['plan', '-input=false', '-lock=false', `-var-file=${file}`], {
        cwd: dir,
        env: { TF_DATA_DIR: path.join(dir, '.tfdata') },
      });
      expect(res.status).not.toBe(0);
      expect(res.output).toMatch(/admin_cidrs/);
    }, 60_000);
  });

  describe('policy', () => {
    it('the real configuration passes', () => {
      expect(checkPolicy(terraformDir, { gateway: 'gateway' })).toEqual([]);
    }, 60_000);

    const cases: [string, string, string][] = [
      [
        'a literal 0.0.0.0/0 SSH rule',
        `resource "google_compute_firewall" "ssh_world" {
  name          = "ssh-world"
  network       = "vpc"
  source_ranges = ["0.0.0.0/0"]
  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}
`,
        'firewall-open-to-world',
      ],
      [
        'the API server opened through a variable whose default is the world',
        `variable "api_sources" {
  type    = list(string)
  default = ["0.0.0.0/0"]
}
resource "google_compute_firewall" "api_world" {
  name          = "api-world"
  network       = "vpc"
  source_ranges = var.api_sources
  allow {
    protocol = "tcp"
    ports    = ["6000-7000"]
  }
}
`,
        'firewall-open-to-world',
      ],
      [
        'an ingress rule without any source (GCP defaults it to 0.0.0.0/0)',
        `resource "google_compute_firewall" "no_source" {
  name    = "no-source"
  network = "vpc"
  allow {
    protocol = "all"
  }
}
`,
        'firewall-open-to-world',
      ],
      [
        'the subnet-wide internal rule (the gateway shares the subnet: etcd, kubelet, API open to it)',
        `resource "google_compute_firewall" "internal_subnet" {
  name          = "internal-subnet"
  network       = "vpc"
  source_ranges = [var.subnet_cidr]
  allow {
    protocol = "tcp"
  }
}
`,
        'gateway-reaches-cluster-ports',
      ],
      [
        'a rule from the gateway tag to the nodes on the kubelet port',
        `resource "google_compute_firewall" "gateway_kubelet" {
  name        = "gateway-kubelet"
  network     = "vpc"
  source_tags = [local.tag_gateway]
  target_tags = [local.tag_node]
  allow {
    protocol = "tcp"
    ports    = ["10250"]
  }
}
`,
        'gateway-reaches-cluster-ports',
      ],
      [
        'a worker with an external IP',
        `resource "google_compute_instance" "public_worker" {
  name         = "w"
  zone         = "us-central1-a"
  machine_type = "e2-small"
  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
    }
  }
  network_interface {
    subnetwork = "s"
    access_config {}
  }
}
`,
        'external-ip',
      ],
      [
        'a second external address',
        `resource "google_compute_address" "extra" {
  name = "extra"
}
`,
        'external-ip',
      ],
      [
        'a token with a default value',
        `variable "finnhub_token" {
  type    = string
  default = "c0ffee1234567890abcdef"
}
`,
        'secret-default',
      ],
      [
        'a service-account key in a default',
        `variable "sa" {
  type    = string
  default = "{\\"type\\": \\"service_account\\", \\"private_key_id\\": \\"x\\"}"
}
`,
        'secret-default',
      ],
      [
        'provider credentials in code',
        `provider "google" {
  alias       = "keyed"
  credentials = "sa.json"
}
`,
        'provider-credentials',
      ],
    ];

    it.each(cases)(
      'rejects %s',
      (_label, hcl, rule) => {
        const dir = scratchCopy();
        writeFileSync(path.join(dir, 'violation.tf'), hcl);
        const found = checkPolicy(dir, { gateway: 'gateway' });
        expect(found.map((v) => v.rule)).toContain(rule);
      },
      60_000,
    );

    it('rejects the real SSH rule when the example allowlist is the world', () => {
      const dir = scratchCopy();
      const example = path.join(dir, 'terraform.tfvars.example');
      writeFileSync(
        example,
        readFileSync(example, 'utf8').replace(/^admin_cidrs.*$/m, 'admin_cidrs = ["0.0.0.0/0"]'),
      );
      const found = checkPolicy(dir, { gateway: 'gateway' });
      expect(found.map((v) => v.where)).toContain('google_compute_firewall.ssh_admin');
    }, 60_000);
  });

  describe('deploy/destroy preflight', () => {
    const script = (name: string) => path.join(terraformDir, name);
    const bareEnv = (extra: Record<string, string> = {}) => {
      const home = mkdtempSync(path.join(tmpdir(), 'preflight-home-'));
      return { HOME: home, PATH: '/usr/bin:/bin', SSH_AUTH_SOCK: '', CLOUDSDK_CONFIG: home, ...extra };
    };

    it('deploy --preflight-only lists everything that is missing and changes nothing', () => {
      const res = run('bash', [script('deploy.sh'), '--preflight-only'], { env: bareEnv() });
      expect(res.status).toBe(1);
      for (const expected of [
        'TF_STATE_BUCKET',
        'Application Default Credentials',
        'terraform.tfvars',
        'GRAFANA_ADMIN_PASSWORD',
        'FINNHUB_TOKEN',
        'ssh-agent',
      ]) {
        expect(res.stderr).toContain(expected);
      }
    });

    it('destroy --preflight-only passes once credentials, state bucket and variables are given', () => {
      const home = mkdtempSync(path.join(tmpdir(), 'preflight-sa-'));
      const key = path.join(home, 'sa.json');
      writeFileSync(key, '{}');
      const env = bareEnv({
        TF_STATE_BUCKET: 'market-state',
        GOOGLE_APPLICATION_CREDENTIALS: key,
        TF_VAR_FILE: path.join(terraformDir, 'terraform.tfvars.example'),
      });
      const ok = run('bash', [script('destroy.sh'), '--preflight-only'], { env });
      expect(ok.status, ok.output).toBe(0);
      expect(ok.stdout).toContain('preflight ok');

      const world = path.join(home, 'world.tfvars');
      writeFileSync(
        world,
        'project_id = "p-123456"\nadmin_cidrs = ["0.0.0.0/0"]\nssh_public_key = "ssh-ed25519 AAAA"\n',
      );
      const bad = run('bash', [script('destroy.sh'), '--preflight-only'], {
        env: { ...env, TF_VAR_FILE: world },
      });
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('admin_cidrs must not contain 0.0.0.0/0');
    });
  });
});
