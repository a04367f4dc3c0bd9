/**
 * A report that takes a while (20,000 trials) is stopped by a signal at once, writing nothing.
 * (The report of 200,000 trials, 5 minutes, runs with npm run test:large.)
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from './cli-helpers.js';
import { sweepOf } from './huge-sweep-fixture.js';
import { tempDir } from './helpers.js';

describe('a report stopped by a signal', () => {
  it('ends at once (not after the 20 s it has left) on Ctrl-C, SIGTERM or SIGHUP while it reads and draws 20,000 trials, and writes nothing', async () => {
    const db = sweepOf(20_000);
    const folder = tempDir();
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
      const out = join(folder, `${signal}.html`);
      const child = spawn(process.execPath, [CLI, 'report', '--db', db, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const ended = new Promise<number | null>((resolve) => child.on('close', resolve));
      // Well into reading the trials and making the page (which takes some 20 s here).
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const sent = performance.now();
      child.kill(signal);
      // Before the fix the report went on to the end and was written: the test ends it itself.
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const exit = await ended;
      clearTimeout(killer);
      expect([signal, exit, output]).toEqual([signal, code, '']);
      // Left to run, the report takes some 20 s more; stopped, it ends as soon as SQLite's step
      // returns: well within a second on a quiet machine, but up to 3 s were seen while the suite
      // runs three files at a time on two cores (docs/flaky-tests.md). The bound tells stopping
      // at once from going on; how fast it stops is a speed goal, not this test's.
      expect((performance.now() - sent) / 1000).toBeLessThan(5);
    }
    // No page, not even part of one; the database closed (no -wal or -shm beside it).
    expect(readdirSync(folder)).toEqual([]);
    expect(readdirSync(dirname(db))).toEqual(['runs.db']);
  }, 60_000);
});

