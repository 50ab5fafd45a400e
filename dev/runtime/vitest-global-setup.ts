/**
 * Global setup of the `integration` test project: one real Kafka + Cassandra per `vitest run`.
 *
 * Which runtime is used follows MARKET_RUNTIME (see dev/runtime/README.md):
 *   auto (default)  reuse a runtime that already answers from the cache dir (`npm run runtime -- up
 *                   --detach`, or a foreground `up`), else start one and stop it when the run ends
 *   embedded        always start one for this run
 *   external        never start one; use the given brokers/contact points or a running runtime
 * Tests read the endpoints with `inject('kafkaBrokers')` etc. and never look at ports themselves.
 */
import type { TestProject } from 'vitest/node';
import { RuntimeError } from './errors.ts';
import { acquireRuntime } from './runtime.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    cassandraContactPoints: string[];
    cassandraLocalDataCenter: string;
  }
}

const log = (line: string) => process.stderr.write(`[runtime] ${line}\n`);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = Date.now();
  let runtime: Awaited<ReturnType<typeof acquireRuntime>>;
  try {
    runtime = await acquireRuntime({ log });
  } catch (err) {
    // One line instead of a stack trace: these are things to fix on the machine, not in the tests.
    if (err instanceof RuntimeError) {
      const oneLine = new Error(err.message);
      oneLine.stack = `${err.name}: ${err.message}`;
      throw oneLine;
    }
    throw err;
  }
  const ms = Date.now() - t0;
  log(
    runtime.owned
      ? `started for this test run in ${(ms / 1000).toFixed(1)} s`
      : `reusing the running runtime (${runtime.kafka.brokers.join(',')}; ${runtime.cassandra.contactPoints.join(',')})`,
  );
  project.provide('kafkaBrokers', runtime.kafka.brokers);
  project.provide('cassandraContactPoints', runtime.cassandra.contactPoints);
  project.provide('cassandraLocalDataCenter', runtime.cassandra.localDataCenter);
  return async () => {
    const s0 = Date.now();
    // For a reused runtime this only tells its owner that this run no longer needs it.
    await runtime.stop();
    if (runtime.owned) log(`stopped in ${((Date.now() - s0) / 1000).toFixed(1)} s`);
  };
}
