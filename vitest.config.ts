import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The suite runs three files at a time on this machine's two cores: most of a file's time is its
 * child processes, and several files spend much of theirs waiting (for leases and locks to
 * lapse, a terminal's frames, a cut network), so two at a time left a core idle a sixth of the
 * run. Files that kill processes at chosen moments, wait for locks and leases to
 * lapse, drive a terminal or train on a software GPU run alongside the rest: each has its own
 * database, Redis server (a free port), temp folder, tmux socket and network namespaces, so no
 * two share state, and each waits for the events it needs rather than for fixed times
 * (docs/flaky-tests.md keeps the ones that did not, and why).
 *
 * The longest files start first, in this order, so that none is left running alone at the end
 * (with the seconds each took here, two files at a time, on a loaded machine): the rest follow in
 * vitest's order.
 */
const LONGEST_FIRST = [
  'test/crash-resume.test.ts', // 189 s: 40 restarts
  'test/queue.test.ts', // 187 s: agents training, leases lapsing
  'test/webgpu-sweep.test.ts', // 132 s: GPU processes on a software GPU
  'test/model-commands.test.ts', // 131 s
  'test/queue-faults.test.ts', // 118 s: mostly waiting out a cut network
  'test/large-results.test.ts', // 109 s
  'test/database-faults.test.ts', // 85 s: locks, mostly waiting
  'test/queries.test.ts', // 82 s
  'test/cli.test.ts', // 82 s
  'test/adaptive-sweep.test.ts', // 78 s
  'test/disk-full.test.ts', // 73 s
  'test/dashboard-e2e.test.ts', // 70 s: a real terminal's frames, mostly waiting
  'test/report.test.ts', // 69 s
  'test/checkpoints.test.ts', // 56 s
  'test/machine-fit.test.ts', // 42 s
  'test/concurrent-sweeps.test.ts', // 34 s
  'test/datasets.test.ts', // 31 s
  'test/pool.test.ts', // 29 s
];

/** Starts the files of LONGEST_FIRST in its order, then the rest in vitest's own. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = LONGEST_FIRST.indexOf(relative(process.cwd(), f.moduleId));
      return i < 0 ? LONGEST_FIRST.length : i;
    };
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['test/large/**', '**/node_modules/**'],
    maxWorkers: 3,
    sequence: { sequencer: LongestFirst },
    // Real training, real worker pools and the CLI as a child process: seconds, not milliseconds.
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
