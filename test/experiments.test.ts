/** The shipped experiment files: each is valid, expands to the trials its comment promises, and together they use every option. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../src/config/experiment.js';
import { configPaths } from '../src/config/load.js';
import { ROOT } from './cli-helpers.js';

const dir = join(ROOT, 'experiments');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

describe('shipped experiments', () => {
  it.each(files)('%s is valid and has as many trials as its comment says', (name) => {
    const path = join(dir, name);
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith('#'), 'documented by a comment at its top').toBe(true);
    const { trials, search } = loadExperiment(path);
    const comment = text.split('\n').filter((l) => l.startsWith('#')).join(' ');
    // An adaptive search chooses its trials as it goes: its comment gives the most it runs.
    const promised = (search ? /at most (\d+) trials/i : /(\d+) trials?\./).exec(comment);
    expect(promised, 'the comment says how many trials').not.toBeNull();
    expect(search ? search.maxTrials : trials.length).toBe(Number(promised![1]));
  });

  it('use every option of the schema at least once', () => {
    const written = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    // A key is used when it is written in a section (`pooling:` under model) or swept (`model.pooling:`).
    const unused = configPaths().filter((path) => {
      const key = path.split('.').pop()!;
      return !new RegExp(`(^|[\\s{,.])${key}:`, 'm').test(written);
    });
    expect(unused).toEqual([]);
  });
});
