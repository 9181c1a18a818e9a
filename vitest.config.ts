import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // e2e files each start real Temporal servers; two cores are shared between them.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
