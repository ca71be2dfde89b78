import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests each start their own servers on free ports; two cores carry two files at a time.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
