import { defineConfig } from 'vitest/config';

/**
 * Three projects, run one after the other: `unit` runs in-process only (no
 * SIPp, Prometheus or child processes; `npm run test:unit`, under a minute),
 * `integration` drives the built gateway and real peers, `container` builds
 * and runs the Docker image with podman, alone (`npm run test:integration`
 * runs both). `npm test` runs all three.
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
          // the container image build loads both cores for a minute: it runs alone, after these
          exclude: ['test/integration/container-smoke.test.ts'],
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
      {
        test: {
          name: 'container',
          include: ['test/integration/container-smoke.test.ts'],
          sequence: { groupOrder: 2 },
          testTimeout: 900_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          maxWorkers: 1,
          pool: 'forks',
        },
      },
    ],
  },
});
