/**
 * `sweep report` of a sweep of 200,000 trials: it crashed with "Maximum call stack size exceeded"
 * (the charts took the extremes of every trial's value as Math.min(...values)), and its page is
 * more text than one string can hold. Five minutes and some 4 GB here, so outside the
 * suite: npm run test:large (vitest.large.config.ts).
 */
import { closeSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../cli-helpers.js';
import { sweepOf } from '../huge-sweep-fixture.js';
import { tempDir } from '../helpers.js';

const TRIALS = 200_000;

/** The last bytes of a file. */
function tail(path: string, bytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const n = readSync(fd, buffer, 0, bytes, Math.max(0, statSync(path).size - bytes));
    return buffer.subarray(0, n).toString();
  } finally {
    closeSync(fd);
  }
}

describe('a report of a very large sweep', () => {
  it(`is written for ${TRIALS.toLocaleString('en')} trials, a page larger than one string can hold`, async () => {
    const db = sweepOf(TRIALS);
    const out = join(tempDir(), 'huge.html');
    try {
      const r = await cli('report', '--db', db, '--out', out);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toMatch(new RegExp(`^wrote ${out} \\(\\d+\\.\\d\\d MB\\): sweep huge, ${TRIALS} trials\\n$`));
      // More than 512 MB: before, it was one string, which cannot be longer.
      expect(statSync(out).size).toBeGreaterThan(2 ** 29);
      expect(tail(out, 32)).toMatch(/<\/script>\n<\/body>\n<\/html>\n$/);
    } finally {
      // A gigabyte between them.
      for (const file of [db, out]) rmSync(dirname(file), { recursive: true, force: true });
    }
  }, 900_000);
});

