/**
 * What the npm start e2e tests share: the settings of a private runtime (its own dir and ports, never the
 * shared one) and killing a started npm with everything below it when a test ends early.
 */
import type { ChildProcess } from 'node:child_process';
import { freePortRun } from './pipeline/ports.ts';
import { alive, descendants } from './pipeline/process-tree.ts';

export async function privateRuntimeEnv(runtimeDir: string): Promise<Record<string, string>> {
  return {
    MARKET_RUNTIME: 'embedded',
    MARKET_RUNTIME_DIR: runtimeDir,
    MARKET_RUNTIME_KAFKA_PORT: String(await freePortRun(1)),
    MARKET_RUNTIME_KAFKA_CONTROLLER_PORT: String(await freePortRun(1)),
    MARKET_RUNTIME_CASSANDRA_PORT: String(await freePortRun(1)),
    MARKET_RUNTIME_CASSANDRA_STORAGE_PORT: String(await freePortRun(1)),
    MARKET_RUNTIME_KAFKA_BROKERS: '',
    MARKET_RUNTIME_CASSANDRA_CONTACT_POINTS: '',
  };
}

export function killTree(child: ChildProcess | undefined): void {
  if (!child?.pid || !alive(child.pid)) return;
  for (const p of descendants(child.pid)) if (alive(p)) process.kill(p, 'SIGKILL');
  child.kill('SIGKILL');
}
