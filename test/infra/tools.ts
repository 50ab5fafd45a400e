// Paths of the validators dev/setup/install-infra-tools.sh installs, and a runner that keeps every tool
// off the network: when we are root and util-linux `unshare` exists, each command runs in a fresh network
// namespace that has only loopback, so a validator that tries to reach a registry fails loudly instead of
// depending on (or touching) the outside world.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Where dev/setup installs the validators (MARKET_TOOLS_DIR moves it, as the setup scripts honour it). */
export const toolsDir = process.env.MARKET_TOOLS_DIR ?? path.join(repoRoot, '.cache/tools');
const binDir = path.join(toolsDir, 'bin');
const venvBin = path.join(toolsDir, 'venv/bin');
export const terraformDir = path.join(repoRoot, 'terraform');
export const ansibleDir = path.join(repoRoot, 'ansible');

export const tool = {
  tofu: path.join(binDir, 'tofu'),
  tflint: path.join(binDir, 'tflint'),
  ansiblePlaybook: path.join(venvBin, 'ansible-playbook'),
  ansibleLint: path.join(venvBin, 'ansible-lint'),
  yamllint: path.join(venvBin, 'yamllint'),
  hcl2tojson: path.join(venvBin, 'hcl2tojson'),
  python: path.join(venvBin, 'python'),
  haproxy: ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((p) => existsSync(p)) ?? 'haproxy',
};

export function missingTools(): string[] {
  return Object.entries(tool)
    .filter(([name, p]) => name !== 'haproxy' && !existsSync(p))
    .map(([name]) => name)
    .concat(existsSync(tool.haproxy) ? [] : ['haproxy']);
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
  output: string;
}

const canIsolate =
  process.getuid?.() === 0 &&
  spawnSync('unshare', ['--net', 'true'], { stdio: 'ignore' }).status === 0 &&
  existsSync('/usr/sbin/ip');

// An empty CLI config keeps OpenTofu from reading ~/.terraformrc or a credentials helper.
const emptyTfrc = path.join(mkdtempSync(path.join(tmpdir(), 'infra-tfrc-')), 'empty.tfrc');
writeFileSync(emptyTfrc, '');

export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): RunResult {
  const env = {
    ...process.env,
    PATH: `${venvBin}:${binDir}:${process.env.PATH ?? ''}`,
    TF_CLI_CONFIG_FILE: emptyTfrc,
    TF_IN_AUTOMATION: '1',
    CHECKPOINT_DISABLE: '1',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    NO_COLOR: '1',
    ...opts.env,
  };
  const [file, argv] = canIsolate
    ? ['unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', cmd, ...args]]
    : [cmd, args];
  const res = spawnSync(file, argv, {
    cwd: opts.cwd ?? repoRoot,
    env,
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const stdout = res.stdout ?? '';
  const stderr = res.stderr ?? '';
  return { status: res.status ?? -1, stdout, stderr, output: `${stdout}\n${stderr}` };
}

export const isolatedFromNetwork = canIsolate;
