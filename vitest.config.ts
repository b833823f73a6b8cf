import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The tests run the built CLI: build first when dist/ is missing or stale.
    globalSetup: ['./test/helpers/build.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Child processes do the heavy lifting; two workers suit a 2-core machine.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
