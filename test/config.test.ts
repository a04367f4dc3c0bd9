import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../src/config/experiment.js';
import { trialId } from '../src/sweep/trial-id.js';
import { problemsOf, writeExperiment } from './helpers.js';

const load = (text: string) => {
  const file = writeExperiment(text);
  return { file, problems: () => problemsOf(() => loadExperiment(file), file) };
};

describe('experiment files', () => {
  it('fills every default of the reference recipe', () => {
    const { experiment, trials } = loadExperiment(writeExperiment('name: ref\n'));
    expect(experiment.model).toEqual({
      pooling: 'avg', activation: 'relu', dropout: 0, dropout_conv: 0, batchnorm: false, batchnorm_fc: false,
      conv1_filters: 6, conv2_filters: 16, fc1_units: 120, fc2_units: 84,
    });
    expect(experiment.schedule.name).toBe('constant');
    expect(experiment.optimizer).toMatchObject({ name: 'adam', lr: 0.001 });
    expect(experiment.training).toEqual({ epochs: 10, batch_size: 64, seed: 1, limit_train: 0 });
    expect(experiment.metric).toEqual({ name: 'val_acc', goal: 'maximize' });
    expect(trials).toHaveLength(1);
    expect(trials[0].params).toEqual({});
  });

  it('expands a grid, last parameter fastest, with each value set in the trial config', () => {
    const { trials } = loadExperiment(writeExperiment(`name: g
sweep:
  parameters:
    model.pooling: [avg, max]
    training.seed: [1, 2, 3]
`));
    expect(trials.map((t) => t.params)).toEqual([
      { 'model.pooling': 'avg', 'training.seed': 1 },
      { 'model.pooling': 'avg', 'training.seed': 2 },
      { 'model.pooling': 'avg', 'training.seed': 3 },
      { 'model.pooling': 'max', 'training.seed': 1 },
      { 'model.pooling': 'max', 'training.seed': 2 },
      { 'model.pooling': 'max', 'training.seed': 3 },
    ]);
    expect(trials[4].config.model.pooling).toBe('max');
    expect(trials[4].config.training.seed).toBe(2);
    expect(new Set(trials.map((t) => t.id)).size).toBe(6);
  });

  it('gives the same trial id whatever the key order or number spelling, and merges duplicates', () => {
    const a = loadExperiment(writeExperiment('name: x\noptimizer: { lr: 0.001, name: adam }\nmodel: { dropout: 0.5 }\n')).trials[0];
    const b = loadExperiment(writeExperiment('model: { dropout: 5.0e-1 }\noptimizer: { name: adam, lr: 1e-3 }\nname: x\n')).trials[0];
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^[0-9a-f]{12}$/);
    expect(trialId({ ...a.config, description: 'other words' })).toBe(a.id);
    expect(trialId({ ...a.config, training: { ...a.config.training, seed: 2 } })).not.toBe(a.id);
    const dup = loadExperiment(writeExperiment('name: x\nsweep: { parameters: { model.pooling: [avg, avg, max] } }\n'));
    expect(dup.trials).toHaveLength(2);
  });
});

describe('bad experiment files', () => {
  it('names a missing file', () => {
    expect(problemsOf(() => loadExperiment('/nonexistent/exp.yaml'))).toEqual(['/nonexistent/exp.yaml: no such file']);
  });

  it('reports YAML syntax errors and duplicate keys with their position', () => {
    expect(load('name: a\nmodel: { pooling: avg\n').problems()[0]).toMatch(/^FILE:3:1: /);
    expect(load('name: a\nmodel:\n  pooling: avg\n  pooling: max\n').problems()).toEqual([
      'FILE:4:3: duplicate key: each key may appear once in a mapping',
    ]);
  });

  it('reports every schema problem at once, each at its line and column, with suggestions', () => {
    const { problems } = load(`name: bad
model:
  pooling: maxx
  dropout: 1.5
  batchnrm: true
optimizer: { lr: -0.1 }
training:
  epochs: three
`);
    expect(problems()).toEqual([
      "FILE:3:12: model.pooling: expected one of avg, max, found 'maxx' (did you mean 'max'?)",
      'FILE:4:12: model.dropout: must be < 1, found 1.5',
      "FILE:5:3: model.batchnrm: unknown key (did you mean 'batchnorm'?); known keys: pooling, activation, conv1_filters, conv2_filters, fc1_units, fc2_units, dropout, dropout_conv, batchnorm, batchnorm_fc",
      'FILE:6:18: optimizer.lr: must be > 0, found -0.1',
      "FILE:8:11: training.epochs: expected an integer, found 'three'",
    ]);
  });

  it('requires a name and a mapping at the top', () => {
    expect(load('model: { pooling: avg }\n').problems()).toEqual(["FILE:1:1: (top level): missing required key 'name'"]);
    expect(load('- a\n- b\n').problems()).toEqual(['FILE:1:1: expected a mapping of config sections (name, model, optimizer, …)']);
  });

  it('rejects swept paths that are not config keys, with the nearest key', () => {
    expect(load('name: s\nsweep:\n  parameters:\n    model.poolng: [avg, max]\n').problems()).toEqual([
      "FILE:4:5: sweep.parameters: 'model.poolng' is not a config key (did you mean 'model.pooling'?)",
    ]);
    expect(load('name: s\nsweep:\n  parameters:\n    model: [a]\n').problems()[0]).toContain("'model' is a section");
  });

  it('reports a bad swept value where it is written', () => {
    expect(load('name: s\nsweep:\n  parameters:\n    model.pooling: [avg, maxx]\n    model.dropout: [0, 2]\n').problems()).toEqual([
      "FILE:4:26: model.pooling: expected one of avg, max, found 'maxx' (did you mean 'max'?)",
      'FILE:5:24: model.dropout: must be < 1, found 2',
    ]);
  });

  it('refuses Nesterov momentum without momentum, where it is written', () => {
    expect(load('name: n\noptimizer: { name: sgd, momentum: 0, nesterov: true }\n').problems()).toEqual([
      'FILE:2:48: optimizer.nesterov: needs sgd with momentum > 0 (found sgd with momentum 0)',
    ]);
    expect(load('name: n\noptimizer: { name: adam }\nsweep: { parameters: { optimizer.nesterov: [false, true] } }\n').problems()).toEqual([
      'FILE:3:52: optimizer.nesterov: needs sgd with momentum > 0 (found adam)',
    ]);
  });

  it('rejects an empty search space', () => {
    expect(load('name: s\nsweep:\n  parameters:\n    model.pooling: []\n').problems()).toEqual([
      "FILE:4:20: sweep.parameters.model.pooling: needs a non-empty list of values",
    ]);
  });
});

describe('all problems at once', () => {
  it('schema problems, search-space problems and swept paths are reported together', () => {
    const file = writeExperiment('name: all\nmodel: { pooling: maxx }\nsweep:\n  parameters:\n    model.poolng: [avg]\n    optimizer.lr: { distribution: uniform, min: 1 }\n');
    expect(problemsOf(() => loadExperiment(file), file)).toEqual([
      "FILE:2:19: model.pooling: expected one of avg, max, found 'maxx' (did you mean 'max'?)",
      "FILE:5:5: sweep.parameters: 'model.poolng' is not a config key (did you mean 'model.pooling'?)",
      'FILE:6:19: sweep.parameters.optimizer.lr: max: distribution uniform needs a number',
    ]);
  });
});

describe('YAML merge keys (<<: *anchor), as CI and Compose files write them', () => {
  it('merge an anchored mapping, or a list of them (the first listed wins); the mapping’s own keys win wherever written', () => {
    const { experiment } = loadExperiment(writeExperiment(`name: merged
x-short: &short { epochs: 2, batch_size: 32, seed: 5 }
x-wide: &wide { fc1_units: 200, fc2_units: 100 }
training:
  epochs: 3
  <<: *short
  seed: 9
model: { <<: [*wide, { fc1_units: 150, dropout: 0.1 }] }
`));
    expect(experiment.training).toEqual({ epochs: 3, batch_size: 32, seed: 9, limit_train: 0 });
    expect(experiment.model).toMatchObject({ fc1_units: 200, fc2_units: 100, dropout: 0.1 });
    // x- keys hold anchors and are not config (as Compose's extension fields).
    expect(Object.keys(experiment).some((k) => k.startsWith('x-'))).toBe(false);
  });

  it('a wrong merged value or key is reported where it is written: in the anchor', () => {
    expect(load(`name: m
x-base: &base
  epochs: 0
  batch_sizee: 32
training:
  <<: *base
  seed: 2
`).problems()).toEqual([
      'FILE:3:11: training.epochs: must be >= 1, found 0',
      "FILE:4:3: training.batch_sizee: unknown key (did you mean 'batch_size'?); known keys: epochs, batch_size, seed, limit_train",
    ]);
  });

  it('merges into sweep.parameters, with the space’s problems at the anchor', () => {
    const { trials } = loadExperiment(writeExperiment(`name: s
x-space: &space
  model.pooling: [avg, max]
  training.seed: [1, 2]
sweep:
  parameters:
    <<: *space
    training.seed: [3]
`));
    expect(trials.map((t) => t.params)).toEqual([{ 'model.pooling': 'avg', 'training.seed': 3 }, { 'model.pooling': 'max', 'training.seed': 3 }]);
    expect(load(`name: s
x-rate: &rate { distribution: uniform, min: 0.1, max: 0.01 }
x-widths: &widths [64, 120, 0]
sweep:
  method: random
  count: 2
  parameters:
    optimizer.lr: { <<: *rate }
    model.fc1_units: { values: *widths }
`).problems()).toEqual([
      'FILE:2:45: sweep.parameters.optimizer.lr: min 0.1 is greater than max 0.01',
    ]);
    expect(load(`name: s
x-widths: &widths { values: [64, 120, 0] }
sweep:
  parameters:
    model.fc1_units: { <<: *widths }
`).problems()).toEqual([
      'FILE:2:39: model.fc1_units: must be >= 1, found 0',
    ]);
  });

  it('a merge of something other than a mapping, or of an anchor not yet written, is reported at its place', () => {
    expect(load('name: m\ntraining: { <<: 5 }\nmodel: { <<: [*nope] }\n').problems()).toEqual([
      'FILE:2:17: <<: a merge key takes a mapping or a list of mappings (*name of an anchored mapping), found 5',
      'FILE:3:15: *nope: no anchor &nope before it (an anchor is written before its aliases)',
    ]);
  });

  it('a merge bomb is refused as an alias bomb is, before it expands', () => {
    const nested = ['name: bomb', 'x-l0: &l0 { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10 }'];
    for (let i = 1; i <= 6; i++) nested.push(`x-l${i}: &l${i} { ${Array.from({ length: 10 }, (_, k) => `k${k}: { <<: *l${i - 1} }`).join(', ')} }`);
    const listed = ['name: bomb', 'x-l0: &l0 { a: 1 }'];
    for (let i = 1; i <= 9; i++) listed.push(`x-l${i}: &l${i} { <<: [${Array(10).fill(`*l${i - 1}`).join(', ')}], z${i}: [1, 2, 3] }`);
    for (const text of [nested, listed]) {
      const started = Date.now();
      expect(load(`${text.join('\n')}\n`).problems()).toEqual(['FILE: its aliases (*name) expand to too many values (a "billion laughs" file); write the values out']);
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });
});
