/** Search spaces in W&B Sweeps syntax: distributions, seeded draws, nesting, repeats and the mistakes. */
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../src/config/experiment.js';
import { configProblems } from '../src/config/load.js';
import { axesOf, draw, type SpaceProblem, type Spec } from '../src/sweep/space.js';
import { Random } from '../src/util/random.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './cli-helpers.js';
import { problemsOf, tempDir, writeExperiment } from './helpers.js';

const load = (text: string) => loadExperiment(writeExperiment(text));
const problems = (text: string) => {
  const file = writeExperiment(text);
  return problemsOf(() => loadExperiment(file), file);
};

function draws(spec: Spec, n = 2000): number[] {
  const rng = new Random(3);
  return Array.from({ length: n }, () => draw(spec, rng) as number);
}
const dist = (distribution: string, args: Partial<Record<'min' | 'max' | 'q' | 'mu' | 'sigma', number>>): Spec =>
  ({ kind: 'distribution', distribution, min: 0, max: 0, q: 1, mu: 0, sigma: 1, ...args }) as Spec;

describe('distributions (as W&B defines them)', () => {
  it('uniform, int_uniform and q_uniform stay in [min, max] on their grid', () => {
    const u = draws(dist('uniform', { min: -2, max: 3 }));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThan(3);
    const ints = draws(dist('int_uniform', { min: 1, max: 4 }));
    expect([...new Set(ints)].sort()).toEqual([1, 2, 3, 4]);
    const q = draws(dist('q_uniform', { min: 32, max: 128, q: 32 }));
    expect([...new Set(q)].sort((a, b) => a - b)).toEqual([32, 64, 96, 128]);
  });

  it('log_uniform_values spreads evenly over the logarithm; log_uniform takes its bounds as logarithms', () => {
    const v = draws(dist('log_uniform_values', { min: 1e-4, max: 1e-2 }));
    expect(Math.min(...v)).toBeGreaterThanOrEqual(1e-4);
    expect(Math.max(...v)).toBeLessThanOrEqual(1e-2);
    const below = v.filter((x) => x < 1e-3).length / v.length; // the middle of the log range
    expect(below).toBeGreaterThan(0.45);
    expect(below).toBeLessThan(0.55);
    const l = draws(dist('log_uniform', { min: 0, max: 1 }));
    expect(Math.min(...l)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...l)).toBeLessThanOrEqual(Math.E);
    expect(draws(dist('q_log_uniform_values', { min: 0.0001, max: 0.1, q: 0.0001 })).every((x) => Math.abs(Math.round(x / 0.0001) * 0.0001 - x) < 1e-12)).toBe(true);
  });

  it('normal, q_normal and log_normal have the mean and spread they are given', () => {
    const n = draws(dist('normal', { mu: 5, sigma: 2 }), 5000);
    const mean = n.reduce((a, b) => a + b, 0) / n.length;
    const sd = Math.sqrt(n.reduce((a, b) => a + (b - mean) ** 2, 0) / n.length);
    expect(mean).toBeCloseTo(5, 0);
    expect(sd).toBeGreaterThan(1.8);
    expect(sd).toBeLessThan(2.2);
    expect(draws(dist('q_normal', { mu: 0, sigma: 10, q: 5 })).every((x) => x % 5 === 0)).toBe(true);
    expect(draws(dist('log_normal', { mu: 0, sigma: 1 })).every((x) => x > 0)).toBe(true);
  });

  it('categorical values follow their probabilities', () => {
    const rng = new Random(1);
    const picks = Array.from({ length: 4000 }, () => draw({ kind: 'values', values: ['a', 'b'], probabilities: [0.8, 0.2] }, rng));
    const share = picks.filter((p) => p === 'a').length / picks.length;
    expect(share).toBeGreaterThan(0.77);
    expect(share).toBeLessThan(0.83);
  });
});

describe('random search', () => {
  const file = `name: r
sweep:
  method: random
  count: 6
  seed: 11
  parameters:
    optimizer.lr: { distribution: log_uniform_values, min: 0.0001, max: 0.01 }
    model.pooling: { values: [avg, max] }
    model.dropout: { value: 0.25 }
`;
  it('draws count trials, the same ones every time for the same seed', () => {
    const a = load(file).trials;
    const b = load(file).trials;
    expect(a).toHaveLength(6);
    expect(a.map((t) => t.params)).toEqual(b.map((t) => t.params));
    for (const t of a) {
      expect(t.config.optimizer.lr).toBeGreaterThanOrEqual(0.0001);
      expect(t.config.optimizer.lr).toBeLessThanOrEqual(0.01);
      expect(t.config.model.dropout).toBe(0.25);
    }
    expect(load(file.replace('seed: 11', 'seed: 12')).trials.map((t) => t.params)).not.toEqual(a.map((t) => t.params));
  });

  it('repeats each configuration over consecutive seeds', () => {
    const { trials } = load('name: s\ntraining: { seed: 10 }\nsweep: { repeats: 3, parameters: { model.pooling: [avg, max] } }\n');
    expect(trials.map((t) => [t.params['model.pooling'], t.config.training.seed])).toEqual([
      ['avg', 10], ['avg', 11], ['avg', 12], ['max', 10], ['max', 11], ['max', 12],
    ]);
  });
});

describe('W&B sweep files', () => {
  it("plans the example of W&B's documentation (method, metric and nested parameters at the top level)", () => {
    // From W&B's "Define a sweep configuration" page, with its parameter names mapped onto ours.
    const { experiment, trials } = load(`program: train.py
name: sweepdemo
method: random
metric:
  goal: minimize
  name: val_loss
count: 5
parameters:
  training:
    parameters:
      batch_size:
        values: [16, 32, 64]
      epochs:
        values: [5, 10, 15]
  optimizer:
    parameters:
      lr:
        max: 0.1
        min: 0.0001
        distribution: log_uniform_values
`);
    expect(experiment.metric).toEqual({ name: 'val_loss', goal: 'minimize' });
    expect(trials).toHaveLength(5);
    expect(Object.keys(trials[0].params).sort()).toEqual(['optimizer.lr', 'training.batch_size', 'training.epochs']);
    // An agent checks a queued trial's config, sweep section and all, against the schema: nested
    // parameters were not in it, so every agent refused every trial of such a file.
    for (const t of trials) expect(configProblems(t.config)).toEqual([]);
  });

  it('runs it: the sweep trains every drawn trial', async () => {
    const file = writeExperiment(`program: train.py
name: wandb-run
method: random
count: 3
metric: { goal: minimize, name: val_loss }
parameters:
  training:
    parameters:
      batch_size: { values: [32, 64] }
      limit_train: { value: 128 }
      epochs: { value: 1 }
  optimizer:
    parameters:
      lr: { max: 0.1, min: 0.0001, distribution: log_uniform_values }
`);
    const db = join(tempDir(), 'runs.db');
    const r = await cli(file, '--db', db);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/leaderboard \(val_loss, lower is better\)/);
    const rows = JSON.parse((await cli('runs', 'list', '--db', db, '--json')).stdout);
    expect(rows).toHaveLength(3);
    expect(rows.every((row: { status: string }) => row.status === 'completed')).toBe(true);
    expect(rows[0].best_value).toBeLessThanOrEqual(rows[2].best_value);
  });

  it('plans the file as W&B’s docs write it, min and max without a distribution, and says which distribution it took', async () => {
    const file = writeExperiment(`program: train.py
name: inferred
method: random
count: 3
metric: { goal: minimize, name: val_loss }
parameters:
  optimizer:
    parameters:
      lr: { min: 0.0001, max: 0.1 }
  model:
    parameters:
      dropout: { min: 0.0, max: 0.5 }
      fc1_units: { min: 32, max: 256 }
`);
    const validated = await cli('validate', file);
    expect([validated.code, validated.stdout, validated.stderr]).toEqual([0, `${file}: ok, 3 trials\n`, '']);
    const plan = await cli('plan', file, '--db', join(tempDir(), 'none.db'));
    expect([plan.code, plan.stderr]).toEqual([0, '']);
    expect(plan.stdout).toContain(
      "\nmin and max without a distribution, so W&B's rule took: optimizer.lr uniform (min and max are written as floats), model.dropout uniform (min and max are written as floats), model.fc1_units int_uniform (min and max are integers)\n",
    );
    const rows = plan.stdout.split('\n').filter((line) => /^\d+ +\w{12} /.test(line)).map((line) => line.split(/ +/));
    expect(rows).toHaveLength(3);
    for (const [, , lr, dropout, units] of rows) {
      expect(Number(lr)).toBeGreaterThanOrEqual(0.0001);
      expect(Number(dropout)).toBeLessThan(0.5);
      expect(units).toMatch(/^\d+$/);
    }
  });

  it('takes --grid and --set sweep.… on a W&B file too', () => {
    const file = writeExperiment('name: w\nmethod: random\ncount: 4\nparameters:\n  optimizer.lr: { distribution: uniform, min: 0.001, max: 0.01 }\n');
    const { trials } = loadExperiment(file, { set: ['sweep.count=2'], grid: ['model.pooling=avg,max'] });
    expect(trials).toHaveLength(2);
    expect(trials.every((t) => ['avg', 'max'].includes(t.params['model.pooling'] as string))).toBe(true);
  });

  it('refuses more than 10,000 random trials unless asked', () => {
    expect(problems('name: r\nsweep:\n  method: random\n  count: 20000\n  parameters: { optimizer.lr: { distribution: uniform, min: 0.001, max: 0.01 } }\n')).toEqual([
      'FILE:4:10: sweep.count makes 20,000 trials, more than 10,000; pass --yes to run it anyway',
    ]);
  });

  it('refuses bayes without count, and random without count, with the place and a way out', () => {
    expect(problems('name: b\nmethod: bayes\nparameters:\n  model.pooling: { values: [avg, max] }\n')).toEqual([
      'FILE:2:9: sweep.count: method bayes needs count, the most trials to run',
    ]);
    expect(problems('name: b\nsweep:\n  method: random\n  parameters: { model.pooling: [avg, max] }\n')).toEqual([
      'FILE:3:11: sweep.count: method random needs count, the number of trials to draw',
    ]);
  });
});

describe("W&B's defaults: a parameter without a distribution, as wandb/sweeps fills it in", () => {
  /** Each parameter's distribution (or values), and the W&B keys it defaults. */
  const specs = (parameters: string, extra = '') => {
    const { axes } = load(`name: d\nmethod: random\ncount: 2\n${extra}parameters:\n${parameters}`);
    return Object.fromEntries(axes.map((a) => [a.path, a.spec.kind === 'values' ? a.spec : { distribution: a.spec.distribution, min: a.spec.min, max: a.spec.max, q: a.spec.q, mu: a.spec.mu, sigma: a.spec.sigma }]));
  };

  // Ported from wandb/sweeps tests/test_schema.py (test_json_type_inference_*) and
  // tests/test_params.py (test_param_dict_default_values), at b1dfc5f95e7fa179519718e92371d1423c116893.
  it('min and max: int_uniform when both are written as integers, uniform when either is a float (0.0 is a float)', () => {
    expect(specs(`  augment.rotate: { min: 0, max: 1 }
  augment.scale: { min: 0.0, max: 0.5 }
  augment.translate: { min: 0.0, max: 1 }
  optimizer.weight_decay: { min: 0, max: 1.0 }
  optimizer.lr: { min: 1e-4, max: 1 }
  training.batch_size: { min: 0x10, max: 128 }
`)).toEqual({
      'augment.rotate': { distribution: 'int_uniform', min: 0, max: 1, q: 1, mu: 0, sigma: 1 },
      'augment.scale': { distribution: 'uniform', min: 0, max: 0.5, q: 1, mu: 0, sigma: 1 },
      'augment.translate': { distribution: 'uniform', min: 0, max: 1, q: 1, mu: 0, sigma: 1 },
      'optimizer.weight_decay': { distribution: 'uniform', min: 0, max: 1, q: 1, mu: 0, sigma: 1 },
      'optimizer.lr': { distribution: 'uniform', min: 0.0001, max: 1, q: 1, mu: 0, sigma: 1 },
      'training.batch_size': { distribution: 'int_uniform', min: 16, max: 128, q: 1, mu: 0, sigma: 1 },
    });
  });

  it('values: categorical; value: constant; normal and log_normal: mu 0, sigma 1; q_normal: q given, mu and sigma filled', () => {
    const spaceProblems: SpaceProblem[] = [];
    const axes = axesOf({
      'model.pooling': { values: ['avg', 'max'] },
      'model.activation': { value: 'tanh' },
      'optimizer.clip_norm': { distribution: 'normal' },
      'optimizer.lr': { distribution: 'log_normal' },
      'augment.rotate': { distribution: 'q_normal', q: 0.1 },
      'augment.translate': { distribution: 'q_uniform', min: 0, max: 4 },
    }, spaceProblems);
    expect(spaceProblems).toEqual([]);
    expect(Object.fromEntries(axes.map((a) => [a.path, a.spec.kind === 'values' ? a.spec : (({ kind: _kind, ...rest }) => rest)(a.spec)]))).toEqual({
      'model.pooling': { kind: 'values', values: ['avg', 'max'] },
      'model.activation': { kind: 'values', values: ['tanh'] },
      'optimizer.clip_norm': { distribution: 'normal', min: 0, max: 0, q: 1, mu: 0, sigma: 1 },
      'optimizer.lr': { distribution: 'log_normal', min: 0, max: 0, q: 1, mu: 0, sigma: 1 },
      'augment.rotate': { distribution: 'q_normal', min: 0, max: 0, q: 0.1, mu: 0, sigma: 1 },
      'augment.translate': { distribution: 'q_uniform', min: 0, max: 4, q: 1, mu: 0, sigma: 1 },
    });
  });

  it('nested parameters take the same defaults', () => {
    expect(specs('  augment:\n    parameters:\n      rotate: { min: 0, max: 1 }\n      scale: { min: 0, max: 0.25 }\n')).toMatchObject({
      'augment.rotate': { distribution: 'int_uniform' },
      'augment.scale': { distribution: 'uniform' },
    });
  });

  it('the type is read where each bound is written: a merged anchor, a parent file, a --set', () => {
    expect(specs('  augment.scale: { <<: *range }\n', 'x-range: &range { min: 0.0, max: 0.5 }\n')).toMatchObject({ 'augment.scale': { distribution: 'uniform' } });
    const dir = tempDir();
    writeFileSync(join(dir, 'base.yaml'), 'name: base\nmethod: random\ncount: 2\nparameters:\n  augment:\n    parameters:\n      rotate: { min: 0, max: 10 }\n');
    writeFileSync(join(dir, 'int.yaml'), 'name: child\nextends: base.yaml\nparameters:\n  augment:\n    parameters:\n      rotate: { max: 20 }\n');
    writeFileSync(join(dir, 'float.yaml'), 'name: child\nextends: base.yaml\nparameters:\n  augment:\n    parameters:\n      rotate: { max: 20.0 }\n');
    writeFileSync(join(dir, 'float-base.yaml'), 'name: base\nmethod: random\ncount: 2\nparameters:\n  augment:\n    parameters:\n      rotate: { min: 0.0, max: 10 }\n');
    writeFileSync(join(dir, 'float-parent.yaml'), 'name: child\nextends: float-base.yaml\nparameters:\n  augment:\n    parameters:\n      rotate: { max: 20 }\n');
    const taken = (file: string, set: string[] = []) => loadExperiment(join(dir, file), { set }).axes.map((a) => [a.path, a.inferred]);
    expect(taken('int.yaml')).toEqual([['augment.rotate', { distribution: 'int_uniform', why: 'min and max are integers' }]]);
    expect(taken('float.yaml')).toEqual([['augment.rotate', { distribution: 'uniform', why: 'max is written as a float' }]]);
    expect(taken('float-parent.yaml')).toEqual([['augment.rotate', { distribution: 'uniform', why: 'min is written as a float' }]]);
    expect(taken('int.yaml', ['sweep.parameters.augment.parameters.rotate.min=0.0'])).toEqual([['augment.rotate', { distribution: 'uniform', why: 'min is written as a float' }]]);
    expect(taken('base.yaml', ['sweep.parameters.augment.parameters.rotate={min: 1, max: 2}'])).toEqual([['augment.rotate', { distribution: 'int_uniform', why: 'min and max are integers' }]]);
  });

  it('the distribution taken is written into the config, which an agent checks without the file', () => {
    const { experiment, trials } = load(`name: w
method: random
count: 2
parameters:
  model:
    parameters:
      dropout: { min: 0.0, max: 0.5 }
      fc1_units: { min: 32, max: 256 }
`);
    expect(experiment.sweep!.parameters.model).toEqual({
      parameters: { dropout: { min: 0, max: 0.5, distribution: 'uniform' }, fc1_units: { min: 32, max: 256, distribution: 'int_uniform' } },
    });
    for (const t of trials) expect(configProblems(t.config)).toEqual([]);
    expect(trials.every((t) => Number.isInteger(t.config.model.fc1_units) && !Number.isInteger(t.config.model.dropout))).toBe(true);
  });

  it("refuses what W&B's schema refuses, saying what was meant", () => {
    expect(problems(`name: m
method: random
count: 2
parameters:
  model.dropout: { min: 0, max: 1, q: 0.1 }
  optimizer.lr: { min: 0.001 }
  optimizer.weight_decay: { mu: 0, sigma: 1 }
  model.fc1_units: { min: 32.0, max: 256 }
  augment: { parameters: { rotate: [1, 2] }, values: [1] }
  training: { parameters: {} }
  optimizer.clip_norm: { min: 1, max: 0 }
`)).toEqual([
      "FILE:5:36: sweep.parameters.model.dropout: 'q' needs a distribution (q_uniform, q_log_uniform_values or q_normal); min and max alone make int_uniform, as W&B reads them",
      'FILE:6:17: sweep.parameters.optimizer.lr: max: missing; give min and max (W&B then takes int_uniform or uniform from them) or a distribution',
      'FILE:7:27: sweep.parameters.optimizer.weight_decay: give values, value, min and max, or a distribution (mu goes with normal, q_normal or log_normal)',
      "FILE:8:20: sweep.parameters.model.fc1_units: takes integers, but min is written as a float, so W&B's rule takes uniform; write min and max as integers (for int_uniform)",
      "FILE:9:46: sweep.parameters.augment: 'values' does not go with parameters; a group of nested parameters takes only parameters",
      'FILE:10:27: sweep.parameters.training.parameters: is empty; give at least one parameter',
      'FILE:11:31: sweep.parameters.optimizer.clip_norm: min 1 is greater than max 0',
    ]);
  });
});

describe('mistakes in a search space', () => {
  it('each gets its own message at its own place', () => {
    expect(problems('name: m\nsweep:\n  method: random\n  count: 2\n  parameters:\n    optimizer.lr: { distribution: uniform, min: 0.1, max: 0.01 }\n')).toEqual([
      'FILE:6:49: sweep.parameters.optimizer.lr: min 0.1 is greater than max 0.01',
    ]);
    expect(problems('name: m\nsweep:\n  method: random\n  count: 2\n  parameters:\n    optimizer.lr: { distribution: log_uniformm, min: 1, max: 2 }\n')).toEqual([
      "FILE:6:35: sweep.parameters.optimizer.lr: unknown distribution 'log_uniformm' (did you mean 'log_uniform'?); one of uniform, int_uniform, q_uniform, log_uniform_values, log_uniform, q_log_uniform_values, normal, q_normal, log_normal, categorical, constant",
    ]);
    expect(problems('name: m\nsweep:\n  method: random\n  count: 2\n  parameters:\n    optimizer.lr: { distribution: normal, mu: 1, sigmaa: 2 }\n')).toEqual([
      "FILE:6:50: sweep.parameters.optimizer.lr: 'sigmaa' does not go with distribution normal (did you mean 'sigma'?); it takes distribution, mu, sigma",
    ]);
    expect(problems('name: m\nsweep:\n  parameters:\n    optimizer.lr: { distribution: uniform, min: 0.001, max: 0.01 }\n')).toEqual([
      'FILE:4:19: sweep.parameters.optimizer.lr: method grid needs values to list; a distribution needs method: random',
    ]);
    expect(problems('name: m\nsweep:\n  parameters:\n    training.batch_size: { values: [32, 64], probabilities: [0.5, 0.6] }\n')).toEqual([
      'FILE:4:61: sweep.parameters.training.batch_size: probabilities: must add up to 1, found 1.1',
    ]);
  });

  it('a drawn value the config cannot take is reported at its distribution', () => {
    expect(problems('name: m\nsweep:\n  method: random\n  count: 3\n  parameters:\n    model.dropout: { distribution: uniform, min: 0.5, max: 1.5 }\n')[0]).toMatch(
      /^FILE:6:20: model\.dropout: must be < 1, found 1\.\d+$/,
    );
  });
});
