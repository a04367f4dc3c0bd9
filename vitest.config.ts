import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * Files that kill processes at chosen moments, wait for locks and leases to lapse, drive a
 * terminal, or train on a software GPU. They run after the rest, two at a time like the rest:
 * each has its own database, Redis server (a free port), temp folder, tmux socket and network
 * namespaces, so none shares state with another, and each waits for the events it needs rather
 * than for fixed times (docs/flaky-tests.md keeps the ones that did not). Listed longest first (the
 * order they start in: the long ones first leave no long one alone at the end), with the seconds
 * each took on a quiet run here, and whether it mostly computes or mostly waits.
 */
const ALONE = [
  'test/queue.test.ts', // ~250 s, computes (agents training) and waits (leases)
  'test/webgpu-sweep.test.ts', // ~160 s, mostly waits (GPU processes starting on a software GPU)
  'test/crash-resume.test.ts', // ~140 s, computes (40 restarts)
  'test/queue-faults.test.ts', // ~60 s
  'test/database-faults.test.ts', // ~57 s, mostly waits (locks)
  'test/large-results.test.ts', // ~54 s, computes
  'test/checkpoints.test.ts', // ~50 s
  'test/disk-full.test.ts', // ~45 s
  'test/dashboard-e2e.test.ts', // ~44 s, mostly waits (a terminal's frames)
  'test/machine-fit.test.ts', // ~30 s
  'test/concurrent-sweeps.test.ts', // ~22 s
  'test/netns.test.ts', // ~17 s, waits
  'test/pool.test.ts', // ~15 s
  'test/report-large.test.ts', // ~10 s
  'test/concurrent-readers.test.ts', // ~8 s
  'test/webgpu.test.ts', // ~4 s
  'test/download.test.ts', // ~2 s
];

/** Starts the listed files in the order of ALONE, the rest by vitest's own order (after them). */
class ListedFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = ALONE.indexOf(relative(process.cwd(), f.moduleId));
      return i < 0 ? ALONE.length : i;
    };
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => a.f.project.config.sequence.groupOrder - b.f.project.config.sequence.groupOrder || rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}

const shared = {
  // Real training, real worker pools and the CLI as a child process: seconds, not milliseconds.
  testTimeout: 120_000,
  hookTimeout: 60_000,
  // This machine's two cores; most of a file's time is its child processes.
  maxWorkers: 2,
};

export default defineConfig({
  test: {
    sequence: { sequencer: ListedFirst },
    projects: [
      {
        test: { ...shared, name: 'together', include: ['test/**/*.test.ts', 'test/**/*.test.tsx'], exclude: [...ALONE, 'test/large/**'], sequence: { groupOrder: 0 } },
      },
      {
        test: { ...shared, name: 'slow', include: ALONE, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
