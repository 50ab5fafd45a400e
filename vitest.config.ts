import { defineConfig } from 'vitest/config';

// Two tiers: `unit` needs nothing running; `integration` shares one real Kafka + Cassandra per run,
// started by the global setup (or reused when MARKET_RUNTIME=external says one is already up).
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          // Some unit files start child processes (bundles, validators such as kubeconform, tofu, promtool);
          // on a loaded two-core machine one call can take over 5 s. A hang guard, not a speed check.
          testTimeout: 60_000,
          hookTimeout: 60_000,
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.int.test.ts', '**/*.e2e.test.ts', '.cache/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          // After the unit tier: a broken unit does not wait for Kafka and Cassandra to start.
          sequence: { groupOrder: 1 },
          include: ['**/*.int.test.ts', '**/*.e2e.test.ts'],
          exclude: ['**/node_modules/**', '.cache/**'],
          globalSetup: ['dev/runtime/vitest-global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
    ],
  },
});
