/**
 * Runs a bundle exactly as the image does: the Dockerfile's last-stage WORKDIR + ENTRYPOINT + CMD, with the
 * image's node being this node and the image's WORKDIR being the bundle directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './bundle.ts';

export interface ImageCommand {
  readonly workdir: string;
  readonly argv: readonly string[];
}

/** WORKDIR, ENTRYPOINT and CMD of the Dockerfile's last stage (exec form only, as the Dockerfile uses). */
export function imageCommand(dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')): ImageCommand {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n');
  const lastFrom = lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
  let workdir = '/';
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  for (const line of lines.slice(lastFrom)) {
    const m = /^(WORKDIR|ENTRYPOINT|CMD)\s+(.*)$/i.exec(line.trim());
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key.toUpperCase() === 'WORKDIR') workdir = value.trim();
    else {
      const argv = JSON.parse(value) as string[];
      if (key.toUpperCase() === 'ENTRYPOINT') entrypoint = argv;
      else cmd = argv;
    }
  }
  return { workdir, argv: [...entrypoint, ...cmd] };
}

export { freePort } from '../pipeline/ports.ts';

/** Starts a bundle the way the image does: the image's node is this node, the image's WORKDIR is the bundle dir. */
export function startLikeImage(dir: string, env: Record<string, string>): ChildProcess {
  const { argv } = imageCommand();
  const [node, ...args] = argv as [string, ...string[]];
  if (!/(^|\/)node$/.test(node)) throw new Error(`the image runs ${node}, not node`);
  return spawn(process.execPath, args, {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export async function waitHttp(url: string, child: ChildProcess, ms = 15_000): Promise<Response> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before ${url} answered`);
    try {
      return await fetch(url);
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not answer: ${String(last)}`);
}

export async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
