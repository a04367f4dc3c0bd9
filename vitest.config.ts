import { defineConfig } from 'vitest/config';

/**
 * Files that kill processes at chosen moments, wait for locks and leases to lapse, drive a
 * terminal, or train on a software GPU: they run one at a time, after the rest, so that another
 * file's load cannot move their timings.
 */
const ALONE = [
  'test/crash-resume.test.ts',
  'test/webgpu-sweep.test.ts',
  'test/webgpu.test.ts',
  'test/queue.test.ts',
  'test/queue-faults.test.ts',
  'test/netns.test.ts',
  'test/database-faults.test.ts',
  'test/disk-full.test.ts',
  'test/dashboard-e2e.test.ts',
  'test/concurrent-sweeps.test.ts',
  'test/concurrent-readers.test.ts',
  'test/pool.test.ts',
  'test/machine-fit.test.ts',
  'test/large-results.test.ts',
  'test/report-large.test.ts',
  'test/download.test.ts',
  'test/checkpoints.test.ts',
];

const shared = {
  // Real training, real worker pools and the CLI as a child process: seconds, not milliseconds.
  testTimeout: 120_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    projects: [
      {
        // The rest, two files at a time (this machine's two cores; most of their time is child processes).
        test: { ...shared, name: 'together', include: ['test/**/*.test.ts', 'test/**/*.test.tsx'], exclude: [...ALONE, 'test/large/**'], maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        test: { ...shared, name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
