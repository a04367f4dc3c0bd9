/**
 * Fused trials through the real CLI: a sweep whose trials train as one computation on each worker
 * (--fuse) stores, trial by trial, the numbers each trial gets alone; trials leave their group when
 * they are pruned or diverge; bad K is refused before the database; a sweep where nothing can fuse
 * says so once.
 */
import Database from 'better-sqlite3';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, ROOT } from './cli-helpers.js';
import { tempDir } from './helpers.js';
import { smallDigits } from './small-digits.js';

/** 8 trials of one network shape, differing in seed, learning rate (one that diverges) and momentum. */
const experiment = (rule: string) => `
name: fused
data: { dataset: idx, dir: ${smallDigits(512, 128)}, validation: 0.25 }
training: { epochs: 3, batch_size: 32, limit_train: 256 }
optimizer: { name: sgd }
model: { dropout: 0.3 }
augment: { rotate: 10 }
schedule: { name: step, step_size: 2, gamma: 0.5 }
sweep:
  parameters:
    training.seed: [1, 2]
    optimizer.lr: [0.05, 10]
    optimizer.momentum: [0, 0.9]
${rule}
`;

function stored(db: string) {
  const d = new Database(db, { readonly: true });
  try {
    // By the swept values: the rule is part of a trial's config, so of its id.
    const epochs = d.prepare('SELECT t.params, e.epoch, e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.lr FROM epochs e JOIN trials t ON t.id = e.trial_id ORDER BY t.params, e.epoch').all() as { params: string; epoch: number }[];
    const trials = d.prepare('SELECT params, status, test_loss, test_acc FROM trials ORDER BY params').all() as { params: string; status: string; test_loss: number | null; test_acc: number | null }[];
    const workers = (d.prepare('SELECT count(*) AS n FROM trial_records GROUP BY worker ORDER BY n').all() as { n: number }[]).map((r) => r.n);
    return { epochs, trials, workers };
  } finally {
    d.close();
  }
}

describe('a fused sweep', () => {
  it('stores each trial as it trains alone, bit for bit, judged by hyperband; diverged trials leave their group and the rest go on', async () => {
    const dir = tempDir();
    const alone = join(dir, 'alone.yaml');
    const fused = join(dir, 'fused.yaml');
    writeFileSync(alone, experiment(''));
    // Pruning decisions depend on the order results arrive in, so the fused run is judged and the
    // one alone is not: every epoch a fused trial stored must be that trial's epoch alone.
    writeFileSync(fused, experiment('  early_terminate: { type: hyperband, min_iter: 1, eta: 2 }'));
    const a = await cli(alone, '--db', join(dir, 'alone.db'), '--no-tui', '--workers', '2', '--fuse', '1');
    expect(a.code, a.stderr).toBe(0);
    // One worker: the second group is judged against the first's results, in the group's order,
    // so which trials are pruned does not depend on the machine's speed.
    const f = await cli(fused, '--db', join(dir, 'fused.db'), '--no-tui', '--workers', '1', '--fuse', '4');
    expect(f.stderr).toBe('');
    expect(f.stdout).toMatch(/running 8 on 1 worker \(backend auto → wasm; up to 4 trials trained as one on each\)/);
    // Four start before any epoch ends: they train as one.
    const lines = f.stdout.split('\n');
    const starts = lines.flatMap((l, i) => (/\] started on /.test(l) ? [i] : []));
    const firstEpoch = lines.findIndex((l) => /\] epoch \d+\//.test(l));
    expect(starts).toHaveLength(8);
    expect(starts[3]).toBeLessThan(firstEpoch);
    expect(starts[4]).toBeGreaterThan(firstEpoch);

    const one = stored(join(dir, 'alone.db'));
    const fused4 = stored(join(dir, 'fused.db'));
    const statuses = fused4.trials.map((t) => t.status);
    // Whether hyperband prunes here depends on the order results arrive in; a pruned trial
    // leaving its group is checked in test/fused-trials.test.ts, and any pruned here is checked below.
    expect(statuses).toContain('diverged');
    expect(statuses).toContain('completed');
    expect(fused4.trials).toHaveLength(8);
    for (const t of fused4.trials) {
      const mine = fused4.epochs.filter((e) => e.params === t.params);
      const its = one.epochs.filter((e) => e.params === t.params);
      expect(mine.length, `${t.params} ${t.status}`).toBeGreaterThan(0);
      expect(mine, `${t.params} ${t.status}`).toEqual(its.slice(0, mine.length));
      const alone = one.trials.find((o) => o.params === t.params)!;
      if (t.status === 'completed') expect(t).toEqual(alone);
      if (t.status === 'diverged') expect(alone.status).toBe('diverged');
    }
    // runs show names the trials each trained as one with; alone, none.
    const id = (db: string) => (new Database(db, { readonly: true }).prepare('SELECT id FROM trials ORDER BY id LIMIT 1').get() as { id: string }).id;
    const shown = await cli('runs', 'show', id(join(dir, 'fused.db')), '--db', join(dir, 'fused.db'));
    expect(shown.stdout).toMatch(/^fused +trained as one computation with 3 other trials \((\w{12}, ){2}\w{12}\); its numbers are those it gets alone$/m);
    const shownAlone = await cli('runs', 'show', id(join(dir, 'alone.db')), '--db', join(dir, 'alone.db'));
    expect(shownAlone.code).toBe(0);
    expect(shownAlone.stdout).not.toMatch(/^fused /m);
  }, 240_000);

  it('says the largest group its trials can form: 8 of one kind on 2 workers with --fuse 8 train as two groups of 4', async () => {
    const dir = tempDir();
    const file = join(dir, 'fused.yaml');
    writeFileSync(file, experiment(''));
    const r = await cli(file, '--db', join(dir, 'runs.db'), '--no-tui', '--workers', '2', '--fuse', '8', '--set', 'training.epochs=1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/running 8 on 2 workers \(backend auto → wasm; up to 4 trials trained as one on each\)/);
    const { workers } = stored(join(dir, 'runs.db'));
    expect(workers).toEqual([4, 4]);
  }, 60_000);

  it('refuses a K that is not a positive integer, or that the wasm heap cannot hold, in one line before the database', async () => {
    const dir = tempDir();
    const file = join(dir, 'fused.yaml');
    writeFileSync(file, experiment(''));
    const db = join(dir, 'runs.db');
    for (const [args, message] of [
      [['--fuse', '0'], "--fuse: expected a positive integer (1 trains each trial alone), found '0'"],
      [['--fuse', '2.5'], "--fuse: expected a positive integer (1 trains each trial alone), found '2.5'"],
      [['--fuse', 'all'], "--fuse: expected a positive integer (1 trains each trial alone), found 'all'"],
      // 200 conv1 filters: about 1.4 GB a trial at batch 256, so 12 at once are far beyond the heap.
      [['--fuse', '12', '--set', 'training.batch_size=256', '--set', 'model.conv1_filters=200'], /^--fuse 12: a group of 8 trials like \w{12} \(.+\) with batch 256 needs about [\d.]+ GB, more than the wasm backend's 4 GB; use --fuse 2 or fewer, or lower training.batch_size$/],
    ] as const) {
      const r = await cli(file, '--db', db, '--no-tui', ...args);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      if (typeof message === 'string') expect(lines[0]).toBe(message);
      else expect(lines[0]).toMatch(message);
      expect(existsSync(db)).toBe(false);
    }
    writeFileSync(file, experiment('  fuse: 0'));
    const r = await cli(file, '--db', db, '--no-tui');
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^.*fused\.yaml:\d+:\d+: sweep\.fuse: must be >= 1, found 0$/);
    expect(existsSync(db)).toBe(false);
  }, 60_000);

  it('refuses a K above the 64 that sweep.fuse allows on the command line too, in one line before the database', async () => {
    const dir = tempDir();
    const file = join(dir, 'fused.yaml');
    writeFileSync(file, experiment(''));
    const db = join(dir, 'runs.db');
    const r = await cli(file, '--db', db, '--no-tui', '--fuse', '65');
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr.trim()).toBe('--fuse: at most 64 trials train as one (as sweep.fuse in a file), found 65; use --fuse 64 or fewer');
    expect(existsSync(db)).toBe(false);
    // Twenty digits are a positive integer too, past the limit (not 'expected a positive integer').
    const huge = await cli(file, '--db', db, '--no-tui', '--fuse', '99999999999999999999');
    expect([huge.code, huge.stderr.trim()]).toEqual([2, '--fuse: at most 64 trials train as one (as sweep.fuse in a file), found 99999999999999999999; use --fuse 64 or fewer']);
    expect(existsSync(db)).toBe(false);
    writeFileSync(file, experiment('  fuse: 65'));
    const f = await cli(file, '--db', db, '--no-tui');
    expect(f.code).toBe(2);
    expect(f.stderr.trim()).toMatch(/^.*fused\.yaml:\d+:\d+: sweep\.fuse: must be <= 64, found 65$/);
    expect(existsSync(db)).toBe(false);
  }, 60_000);

  it('refuses --fuse with --queue, where each agent fuses as its own --fuse says, rather than passing it over', async () => {
    const dir = tempDir();
    const file = join(dir, 'fused.yaml');
    writeFileSync(file, experiment(''));
    const db = join(dir, 'runs.db');
    // Refused before any connection: nothing needs to answer at this address.
    const r = await cli(file, '--db', db, '--no-tui', '--fuse', '4', '--queue', 'redis://127.0.0.1:1');
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr.trim()).toBe('--fuse: with --queue the agents train the trials; give each agent its --fuse (sweep agent --queue redis://127.0.0.1:1 --fuse 4)');
    expect(existsSync(db)).toBe(false);
  }, 60_000);

  it('says once when no two trials can train as one, and trains them as before', async () => {
    const dir = tempDir();
    const file = join(dir, 'shapes.yaml');
    writeFileSync(file, `
name: shapes
data: { dataset: idx, dir: ${smallDigits(512, 128)}, validation: 0.25 }
training: { epochs: 1, limit_train: 64 }
sweep:
  fuse: 4
  parameters:
    training.batch_size: [16, 32]
    model.pooling: [avg, max]
`);
    const r = await cli(file, '--db', join(dir, 'runs.db'), '--no-tui');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/no two of these trials can train as one/g)).toHaveLength(1);
    expect(r.stdout).not.toMatch(/trained as one on each/);
    expect(r.stdout).toMatch(/4 trials; running 4 on \d workers? \(backend auto → wasm\)/);
    // The plan says it too, and says when trials would fuse.
    const plan = await cli('plan', file, '--db', join(dir, 'runs.db'));
    expect(plan.stdout).toMatch(/; no two of them can train as one \(sweep\.fuse 4\)$/m);
    expect((await cli('plan', file, '--db', join(dir, 'runs.db'), '--fuse', '8')).stdout).toMatch(/; no two of them can train as one \(--fuse 8\)$/m);
    // The largest group the trials can form, not K: sgd-momentum.yaml's trials are all of one kind.
    const momentum = join(ROOT, 'experiments', 'sgd-momentum.yaml');
    const fusing = await cli('plan', momentum, '--db', join(dir, 'runs.db'));
    expect(fusing.stdout).toMatch(/; up to 4 trials train as one on each worker \(sweep\.fuse 4\)$/m);
    expect((await cli('plan', momentum, '--db', join(dir, 'runs.db'), '--fuse', '2')).stdout).toMatch(/; up to 2 trials train as one on each worker \(--fuse 2\)$/m);
    const trialCount = Number(/: (\d+) trials/.exec(fusing.stdout)![1]);
    expect((await cli('plan', momentum, '--db', join(dir, 'runs.db'), '--fuse', '64')).stdout).toMatch(new RegExp(`; up to ${trialCount} trials train as one on each worker \\(--fuse 64\\)$`, 'm'));
    const bad = await cli('plan', momentum, '--fuse', '0');
    expect([bad.code, bad.stderr.trim()]).toEqual([2, "--fuse: expected a positive integer (1 trains each trial alone), found '0'"]);
  }, 60_000);
});
