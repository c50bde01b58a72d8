import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests share one Redis and one ES; each test isolates itself by namespace/prefix,
    // but two cores are all we have, so keep the file parallelism modest.
    maxWorkers: 2,
    pool: 'forks',
  },
});
