/**
 * `npm run runtime -- <command>`: the local Kafka + Cassandra by hand.
 *   up [--detach]   start both; stay in the foreground until Ctrl-C, or leave them running (--detach)
 *   down            stop a runtime started with --detach (or any left running from this cache dir)
 *   status          what runs, on which ports, and the state of the jar cache
 *   reset           wipe data and logs (the runtime must be stopped)
 *   reset-cache     wipe the fetched jars (the runtime must be stopped)
 *   fetch           only fetch the jars (e.g. to warm a CI cache)
 */
import { ConfigError } from '../../shared/config/index.ts';
import { loadRuntimeConfig } from './config.ts';
import { RuntimeError } from './errors.ts';
import { fetchRuntime, resetCache, resetData, runtimeStatus, startRuntime, stopRuntime } from './runtime.ts';

const USAGE = 'usage: npm run runtime -- up [--detach] | down | status | reset | reset-cache | fetch';
const out = (line: string) => process.stdout.write(`${line}\n`);

async function up(detach: boolean): Promise<number> {
  const runtime = await startRuntime({ detach });
  const t = runtime.timings;
  out(`kafka brokers:          ${runtime.kafka.brokers.join(',')}`);
  out(
    `cassandra contact pts:  ${runtime.cassandra.contactPoints.join(',')} (dc ${runtime.cassandra.localDataCenter})`,
  );
  if (t)
    out(
      `start times:            kafka ${(t.kafkaMs / 1000).toFixed(1)} s, cassandra ${(t.cassandraMs / 1000).toFixed(1)} s`,
    );
  if (detach) {
    out('running detached; stop with: npm run runtime -- down');
    return 0;
  }
  out('press Ctrl-C to stop');
  // Signal listeners do not keep Node alive, and the JVM supervisors are unref'd on purpose.
  const keepAlive = setInterval(() => {}, 60_000);
  const reason = await new Promise<string>((resolvePromise) => {
    process.once('SIGINT', () => resolvePromise('interrupted'));
    process.once('SIGTERM', () => resolvePromise('terminated'));
    void runtime.unexpectedExit?.then(({ service, code }) =>
      resolvePromise(`${service} exited unexpectedly (code ${code})`),
    );
  });
  out(`${reason}; stopping ...`);
  // A second Ctrl-C exits at once; the JVMs' watchdogs still stop them when this process is gone.
  process.once('SIGINT', () => process.exit(130));
  await runtime.stop();
  clearInterval(keepAlive);
  out('stopped');
  return reason.includes('unexpectedly') ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'up':
      if (rest.some((a) => a !== '--detach')) break;
      return up(rest.includes('--detach'));
    case 'down': {
      const stopped = await stopRuntime();
      if (stopped.length === 0) out('nothing was running');
      return 0;
    }
    case 'status': {
      const s = runtimeStatus();
      const cfg = loadRuntimeConfig();
      out(`cache dir: ${s.home}`);
      out(`jars:      kafka ${s.caches.kafka}; cassandra ${s.caches.cassandra}`);
      if (s.jvms.length === 0) {
        out(
          `running:   nothing (ports when started: kafka ${cfg.kafkaPort}, cassandra ${cfg.cassandraPort})`,
        );
        return 0;
      }
      out(`running:   ${s.jvms.map((j) => `${j.service} (pid ${j.pid})`).join(', ')}`);
      if (s.state) {
        const owner = s.state.detached ? 'detached' : `owned by pid ${s.state.ownerPid}`;
        out(`since:     ${s.state.startedAt} (${owner})`);
        out(`kafka:     ${s.state.kafka.brokers.join(',')}`);
        out(
          `cassandra: ${s.state.cassandra.contactPoints.join(',')} (dc ${s.state.cassandra.localDataCenter})`,
        );
      }
      return 0;
    }
    case 'reset':
      resetData();
      out('data and logs wiped');
      return 0;
    case 'fetch': {
      const ms = await fetchRuntime();
      out(ms === 0 ? 'jars already cached' : `jars fetched in ${(ms / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'reset-cache':
      resetCache();
      out('jar cache wiped; the next `up` fetches the jars again');
      return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof RuntimeError || err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  },
);
