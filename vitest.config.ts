import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Real training, real worker pools and the CLI as a child process: seconds, not milliseconds.
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
