import { configDefaults, defineConfig } from 'vitest/config';

/** Tests that need the stack's Temporal cluster: only the e2e-cluster project runs them. */
const clusterOnly = ['test/e2e/temporal-cluster.test.ts'];

export default defineConfig({
  test: {
    // The Temporal core bridge is a native module: keep the default forks pool, never threads.
    pool: 'forks',
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...clusterOnly],
          globalSetup: ['test/support/global-setup.ts'],
          // Bundling workflows and waiting on real controllers outlast the 5 s defaults.
          testTimeout: 240_000,
          hookTimeout: 180_000,
          maxWorkers: 2,
        },
      },
      {
        // The rollout, crash and recovery suites again, on the stack's Temporal cluster (the
        // Temporal server on PostgreSQL) instead of the dev server, and the cluster's own test.
        test: {
          name: 'e2e-cluster',
          // By default the crash suite and the cluster's own test (a server killed mid-wave);
          // FRESHET_TEST_CLUSTER_SUITES=all adds the rollout and watch-recovery suites.
          include: [
            'test/e2e/rollout-crash.test.ts',
            ...(process.env.FRESHET_TEST_CLUSTER_SUITES === 'all'
              ? ['test/e2e/rollout.test.ts', 'test/e2e/watch-resilience.test.ts']
              : []),
            ...clusterOnly,
          ],
          env: { FRESHET_TEST_TEMPORAL: 'cluster' },
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 240_000,
          hookTimeout: 180_000,
          // One file at a time: these run beside the e2e project's files on the same machine.
          maxWorkers: 1,
        },
      },
    ],
  },
});
