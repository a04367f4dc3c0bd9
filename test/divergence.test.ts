/** A trial whose loss blows up is diverged, not completed: the rule alone, and a real one through the CLI. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasDiverged } from '../src/train/divergence.js';
import { cli } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';

const epoch = (train_loss: number, val_loss = 1) => ({ train_loss, val_loss });

describe('hasDiverged', () => {
  it('a loss that is not finite', () => {
    expect(hasDiverged(epoch(NaN), 2, 10)).toBe(true);
    expect(hasDiverged(epoch(0.5, Infinity), 2, 10)).toBe(true);
  });

  it('a training loss above 100 times the smaller of the first epoch\'s and ln(classes)', () => {
    // A trial that learned (0.3 in epoch 1) and blew up past 30.
    expect(hasDiverged(epoch(29.9), 0.3, 10)).toBe(false);
    expect(hasDiverged(epoch(30.1), 0.3, 10)).toBe(true);
    // One that blew up in its first epoch: its own loss is no reference, guessing's is (100 × 2.303).
    expect(hasDiverged(epoch(1e16), 1e16, 10)).toBe(true);
    expect(hasDiverged(epoch(230), 230, 10)).toBe(false);
    expect(hasDiverged(epoch(231), 230, 10)).toBe(true);
    // A trial near chance that never learns is not diverged.
    expect(hasDiverged(epoch(3.3), 2.5, 10)).toBe(false);
  });
});

describe('a trial whose loss blows up', () => {
  it('stops at that epoch and is recorded diverged (it trained to a loss of about 1e10 and was counted completed)', async () => {
    const db = join(tempDir(), 'runs.db');
    const file = writeExperiment('name: blowup\noptimizer: { name: adam, lr: 10 }\ntraining: { epochs: 3, limit_train: 1000 }\n');
    const r = await cli(file, '--db', db, '--no-tui');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\] diverged: /);
    const [trial] = JSON.parse((await cli('runs', 'list', '--db', db, '--json')).stdout);
    expect(trial).toMatchObject({ status: 'diverged', epochs: 1, test_acc: null });
  });
});
