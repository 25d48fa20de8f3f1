import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // SIPp-driven integration files bind real sockets and load the CPU; run files one or two at a time.
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
  },
});
