import { defineConfig } from 'vitest/config';

/**
 * Tests at sizes that take minutes and gigabytes (a report of 200,000 trials): outside the suite,
 * run by hand with npm run test:large when the report or the queries change.
 */
export default defineConfig({
  test: { include: ['test/large/**/*.test.ts'], testTimeout: 900_000, maxWorkers: 1 },
});
