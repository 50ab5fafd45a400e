import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const runtimeSourceDir = fileURLToPath(new URL('./', import.meta.url));

export type ServiceName = 'kafka' | 'cassandra';
export const services: readonly ServiceName[] = ['kafka', 'cassandra'];

/**
 * Cache layout (all git-ignored under `.cache/`):
 *   jars/<service>/pom.xml, libs/*.jar, fetched.json   what Maven fetched, with the completion marker
 *   conf/<service>/...                                 config files rendered from dev/runtime/templates
 *   data/<service>/...                                 broker log dirs, Cassandra data/commitlog/...
 *   logs/<service>.log                                 JVM stdout/stderr (+ the service's own logging)
 *   state/<service>.pid, state/runtime.json            who runs what, for reuse, `down` and crash cleanup
 */
export interface RuntimePaths {
  readonly home: string;
  jars(s: ServiceName): string;
  libs(s: ServiceName): string;
  marker(s: ServiceName): string;
  conf(s: ServiceName): string;
  data(s: ServiceName): string;
  log(s: ServiceName): string;
  pidFile(s: ServiceName): string;
  readonly stateDir: string;
  readonly stateFile: string;
  readonly logsDir: string;
  readonly dataDir: string;
  readonly jarsDir: string;
}

export function runtimePaths(cacheDir: string): RuntimePaths {
  const home = isAbsolute(cacheDir) ? cacheDir : resolve(repoRoot, cacheDir);
  const stateDir = join(home, 'state');
  return {
    home,
    jars: (s) => join(home, 'jars', s),
    libs: (s) => join(home, 'jars', s, 'libs'),
    marker: (s) => join(home, 'jars', s, 'fetched.json'),
    conf: (s) => join(home, 'conf', s),
    data: (s) => join(home, 'data', s),
    log: (s) => join(home, 'logs', `${s}.log`),
    pidFile: (s) => join(stateDir, `${s}.pid`),
    stateDir,
    stateFile: join(stateDir, 'runtime.json'),
    logsDir: join(home, 'logs'),
    dataDir: join(home, 'data'),
    jarsDir: join(home, 'jars'),
  };
}
