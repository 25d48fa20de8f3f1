import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` runs in-process only (no SIPp, Prometheus or child
 * processes; `npm run test:unit`, under a minute), `integration` drives the
 * built gateway and real peers (`npm run test:integration`). `npm test` runs
 * both.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // unit first, then integration (projects with different workers run as separate groups)
          sequence: { groupOrder: 0 },
          testTimeout: 30_000,
          hookTimeout: 30_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 30_000,
          // SIPp-driven files bind real sockets and load the CPU; run files one or two at a time.
          fileParallelism: true,
          maxWorkers: 2,
          pool: 'forks',
        },
      },
    ],
  },
});
