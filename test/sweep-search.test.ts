/**
 * The runner's search state (sweep/search.ts, sweep/resume.ts) without training: the queue goes
 * first, then the method proposes from every stored result until count; a target ends the
 * search; values that break a config rule are skipped and counted; trials of an earlier version
 * of the file are neither counted nor learnt from; the rule's verdicts and rungs follow the
 * events as they arrive.
 */
import { describe, expect, it } from 'vitest';
import { loadExperiment, type Trial } from '../src/config/experiment.js';
import type { SearchRecord } from '../src/store/queries.js';
import { planRun } from '../src/sweep/resume.js';
import { SweepSearch, type NextTrial } from '../src/sweep/search.js';
import type { EpochMetrics } from '../src/train/metrics.js';
import { writeExperiment } from './helpers.js';

const TPE = (count: number, extra = '') =>
  writeExperiment(
    `name: s\ntraining: { epochs: 3 }\n${extra}sweep:\n  method: tpe\n  count: ${count}\n  startup_trials: 2\n  parameters:\n` +
      `    optimizer.lr: { distribution: log_uniform_values, min: 0.0001, max: 0.1 }\n`,
  );

const epoch = (e: number, val_acc: number): EpochMetrics => ({ epoch: e, train_loss: 1, train_acc: 0.5, val_loss: 1, val_acc, lr: 0.001, seconds: 1, images_per_s: 100 });

const trialOf = (next: NextTrial | null): Trial => {
  if (!next || !('trial' in next)) throw new Error(`expected a trial, got ${JSON.stringify(next)}`);
  return next.trial;
};

/** Runs a trial to its end in the search's picture, the metric given per epoch. */
function finish(search: SweepSearch, trial: Trial, values: number[], status = 'completed') {
  search.started(trial.id);
  values.forEach((v, i) => search.epoch(trial.id, epoch(i + 1, v)));
  search.ended(trial.id, status);
}

const record = (t: Trial, status: string, values: number[]): SearchRecord => ({ id: t.id, params: t.params, config: JSON.stringify(t.config), status, values, rungs: null });

describe('the search a run asks', () => {
  it('the start-up trials are the ones loadExperiment fixed; then tpe proposes until count, each recorded once', () => {
    const loaded = loadExperiment(TPE(4));
    expect(loaded.trials).toHaveLength(2);
    const { search, toRun, runnable } = planRun(loaded, loaded.trials, loaded.trials.map((t) => record(t, 'queued', [])), { rerun: false });
    expect(toRun.map((t) => t.id)).toEqual(loaded.trials.map((t) => t.id));
    expect(runnable).toBe(4);
    const first = trialOf(search.next());
    const second = trialOf(search.next());
    expect([first.id, second.id]).toEqual(loaded.trials.map((t) => t.id));
    expect(search.next()).toMatchObject({ proposed: true });
    finish(search, first, [0.5, 0.6, 0.7]);
    finish(search, second, [0.2, 0.3, 0.4]);
    const fourth = search.next();
    expect(fourth).toMatchObject({ proposed: true });
    expect(search.next()).toBeNull();
  });

  it('a second run starts from the stored results: only what had not ended trains again, and count counts the stored trials', () => {
    const loaded = loadExperiment(TPE(3));
    const [a, b] = loaded.trials;
    const stored = [record(a, 'completed', [0.5, 0.6, 0.7]), record(b, 'interrupted', [0.3])];
    const { search, toRun, runnable, ended } = planRun(loaded, loaded.trials, stored, { rerun: false });
    expect(toRun.map((t) => t.id)).toEqual([b.id]);
    expect(ended).toEqual({ completed: 1, pruned: 0 });
    expect(runnable).toBe(2);
    expect(trialOf(search.next()).id).toBe(b.id);
    expect(search.next()).toMatchObject({ proposed: true });
    expect(search.next()).toBeNull();
  });

  it('trials of an earlier version of the file (other parameters) are neither counted nor retrained', () => {
    const loaded = loadExperiment(TPE(2));
    const old: SearchRecord = { ...record(loaded.trials[0], 'interrupted', []), id: 'old000000000', params: { 'model.pooling': 'max' } };
    const { toRun, runnable } = planRun(loaded, loaded.trials, [old], { rerun: false });
    expect(toRun).toEqual([]);
    expect(runnable).toBe(2);
  });

  it('stored trials of an edited setting are not the search\'s: it starts again beside them', () => {
    const before = loadExperiment(TPE(3)).trials;
    const edited = loadExperiment(TPE(3, 'model: { pooling: max }\n'));
    const stored = before.map((t) => record(t, 'completed', [0.5, 0.6, 0.7]));
    const { toRun, runnable, ended, members } = planRun(edited, edited.trials, stored, { rerun: false });
    expect([toRun, members, ended]).toEqual([[], [], { completed: 0, pruned: 0 }]);
    expect(runnable).toBe(3);
    // Unedited, the same records are the search's.
    const same = planRun(loadExperiment(TPE(3)), before, stored, { rerun: false });
    expect(same.members).toEqual(before.map((t) => t.id));
    expect(same.runnable).toBe(1);
  });

  it('a start-up value that breaks a rule of the config is skipped like any proposal, unless none fits', () => {
    const file = (seed: number) =>
      writeExperiment(`name: n\noptimizer: { nesterov: true }\nsweep:\n  method: tpe\n  count: 6\n  seed: ${seed}\n  startup_trials: 3\n  parameters:\n    optimizer.name: [sgd, adam]\n    optimizer.lr: { distribution: uniform, min: 0.001, max: 0.01 }\n`);
    let dropped = 0;
    for (let seed = 1; seed <= 8; seed++) {
      try {
        const { trials } = loadExperiment(file(seed));
        expect(trials.every((t) => t.config.optimizer.name === 'sgd')).toBe(true);
        dropped += 3 - trials.length;
      } catch (err) {
        // Every start-up value was adam: the space, as written, mostly cannot train.
        expect((err as Error).message).toMatch(/optimizer\.nesterov: needs sgd/);
      }
    }
    expect(dropped).toBeGreaterThan(0);
  });

  it('metric.target: once a trial reaches it, nothing more starts, queued trials included', () => {
    const loaded = loadExperiment(TPE(4, 'metric: { name: val_acc, goal: maximize, target: 0.9 }\n'));
    const search = new SweepSearch({ metric: loaded.experiment.metric, adaptive: loaded.search, stored: [], queue: loaded.trials });
    const first = trialOf(search.next());
    search.started(first.id);
    search.epoch(first.id, epoch(1, 0.95));
    expect(search.reachedTarget).toEqual({ id: first.id, value: 0.95 });
    expect(search.next()).toBeNull();
  });

  it('values that break a rule of the config are skipped, said, and count towards count', () => {
    const loaded = loadExperiment(TPE(3));
    const search = new SweepSearch({
      metric: loaded.experiment.metric,
      adaptive: { ...loaded.search!, build: () => 'optimizer.lr: out of range' },
      stored: [],
      queue: [],
    });
    expect(search.next()).toMatchObject({ problem: 'optimizer.lr: out of range' });
    expect(search.next()).toMatchObject({ problem: 'optimizer.lr: out of range' });
    expect(search.next()).toMatchObject({ problem: 'optimizer.lr: out of range' });
    expect(search.next()).toBeNull();
  });

  it('the rule judges each running trial against every trial so far, and keeps asha\'s rungs', () => {
    const loaded = loadExperiment(TPE(3));
    const search = new SweepSearch({
      metric: loaded.experiment.metric,
      rule: { type: 'asha', min_resource: 1, reduction_factor: 2 },
      adaptive: loaded.search,
      stored: [],
      queue: loaded.trials,
    });
    expect(search.judged).toBe(true);
    const [a, b] = [trialOf(search.next()), trialOf(search.next())];
    search.started(a.id);
    search.epoch(a.id, epoch(1, 0.8));
    expect(search.judge(a.id)).toEqual({ stop: false, rungs: { 0: 0.8 } });
    search.started(b.id);
    search.epoch(b.id, epoch(1, 0.5));
    const verdict = search.judge(b.id);
    expect(verdict).toMatchObject({ stop: true, rungs: { 0: 0.5 } });
    expect(verdict?.stop && verdict.reason).toMatch(/val_acc 0\.5 at epoch 1/);
    // A trial that starts again (a new attempt) forgets its earlier rungs and values.
    search.started(b.id);
    search.epoch(b.id, epoch(1, 0.9));
    expect(search.judge(b.id)).toEqual({ stop: false, rungs: { 0: 0.9 } });
  });

  it('without a rule nothing is judged', () => {
    const loaded = loadExperiment(TPE(3));
    const search = new SweepSearch({ metric: loaded.experiment.metric, adaptive: loaded.search, stored: [], queue: [] });
    expect(search.judged).toBe(false);
    expect(search.judge('x')).toBeNull();
  });
});
