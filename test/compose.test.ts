/** extends (deep merge, later wins, cycles) and command-line overrides, with problems placed where they were written. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../src/config/experiment.js';
import { problemsOf, tempDir } from './helpers.js';

/** Writes files into a fresh folder; returns the folder. */
function files(contents: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(contents)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const rel = (p: string) => relative(process.cwd(), p);

describe('extends', () => {
  it('merges parents deeply in order, then the file itself; lists replace', () => {
    const dir = files({
      'base/a.yaml': 'name: a\nmodel: { pooling: max, dropout: 0.2 }\ntraining: { epochs: 3, seed: 7 }\nschedule: { name: multistep, milestones: [1, 2] }\n',
      'base/b.yaml': 'name: b\nmodel: { dropout: 0.4 }\ntraining: { epochs: 5 }\n',
      'exp.yaml': 'name: exp\nextends: [./base/a.yaml, ./base/b.yaml]\ntraining: { epochs: 8 }\nschedule: { milestones: [4] }\n',
    });
    const { experiment } = loadExperiment(join(dir, 'exp.yaml'));
    expect(experiment.name).toBe('exp');
    expect(experiment.model).toMatchObject({ pooling: 'max', dropout: 0.4 });
    expect(experiment.training).toMatchObject({ epochs: 8, seed: 7 });
    expect(experiment.schedule).toMatchObject({ name: 'multistep', milestones: [4] });
    expect('extends' in experiment).toBe(false);
  });

  it('reports a bad value in a parent at its own file, line and column', () => {
    const dir = files({
      'base.yaml': 'name: base\nmodel:\n  pooling: maxx\n',
      'exp.yaml': 'name: exp\nextends: base.yaml\n',
    });
    expect(problemsOf(() => loadExperiment(join(dir, 'exp.yaml')))).toEqual([
      `${rel(join(dir, 'base.yaml'))}:3:12: model.pooling: expected one of avg, max, found 'maxx' (did you mean 'max'?)`,
    ]);
  });

  it('reports missing parents and cycles where the extends is written', () => {
    const dir = files({
      'a.yaml': 'name: a\nextends: b.yaml\n',
      'b.yaml': 'name: b\nextends: [c.yaml, a.yaml]\n',
      'lonely.yaml': 'name: x\nextends: ./nowhere.yaml\n',
    });
    expect(problemsOf(() => loadExperiment(join(dir, 'lonely.yaml')))).toEqual([
      `${join(dir, 'lonely.yaml')}:2:10: extends: './nowhere.yaml': no such file (${rel(join(dir, 'nowhere.yaml'))})`,
    ]);
    expect(problemsOf(() => loadExperiment(join(dir, 'a.yaml')))).toEqual([
      `${rel(join(dir, 'b.yaml'))}:2:11: extends: 'c.yaml': no such file (${rel(join(dir, 'c.yaml'))})`,
      `${rel(join(dir, 'b.yaml'))}:2:19: extends: 'a.yaml' makes a cycle: ${rel(join(dir, 'a.yaml'))} → ${rel(join(dir, 'b.yaml'))} → ${rel(join(dir, 'a.yaml'))}`,
    ]);
  });

  it('cannot be swept: files are merged before the sweep expands, so the trials would only carry it as a label', () => {
    const dir = files({
      'other.yaml': 'name: other\nmodel: { pooling: max }\n',
      'exp.yaml': 'name: exp\nsweep:\n  parameters:\n    extends: [./other.yaml]\n',
      'wandb.yaml': 'name: w\nmethod: grid\nparameters:\n  extends: { values: [./other.yaml] }\n',
    });
    const why = "'extends' cannot be swept (files are merged before the sweep expands; sweep the settings the files differ in, or run one file per base)";
    expect(problemsOf(() => loadExperiment(join(dir, 'exp.yaml')), join(dir, 'exp.yaml'))).toEqual([`FILE:4:5: sweep.parameters: ${why}`]);
    expect(problemsOf(() => loadExperiment(join(dir, 'wandb.yaml')), join(dir, 'wandb.yaml'))).toEqual([`FILE:4:3: sweep.parameters: ${why}`]);
  });

  it('takes merge keys in every file, each problem at its own file and line (in the anchor it came from)', () => {
    const dir = files({
      'base.yaml': 'name: base\nx-short: &short\n  epochs: 2\n  batch_size: 0\ntraining: { <<: *short, seed: 4 }\n',
      'exp.yaml': 'name: exp\nextends: base.yaml\nx-avg: &avg { pooling: avg }\nmodel: { <<: *avg, dropout: 0.1 }\n',
    });
    expect(problemsOf(() => loadExperiment(join(dir, 'exp.yaml')))).toEqual([
      `${rel(join(dir, 'base.yaml'))}:4:15: training.batch_size: must be >= 1, found 0`,
    ]);
    // --set on top of a merged value: the option wins, the rest of the merge stays.
    const { experiment } = loadExperiment(join(dir, 'exp.yaml'), { set: ['training.batch_size=16', 'model.pooling=max'] });
    expect(experiment.training).toMatchObject({ epochs: 2, batch_size: 16, seed: 4 });
    expect(experiment.model).toMatchObject({ pooling: 'max', dropout: 0.1 });
  });

  it('places a problem of a W&B file’s parameters in the parent that writes it, when the child adds parameters of its own', () => {
    const dir = files({
      'base.yaml': 'name: base\nmethod: random\ncount: 2\nparameters:\n  optimizer.lr: { distribution: uniform, min: 0.1, max: 0.01 }\n',
      'exp.yaml': 'name: exp\nextends: base.yaml\nparameters:\n  model.pooling: { values: [avg, max] }\n',
    });
    expect(problemsOf(() => loadExperiment(join(dir, 'exp.yaml')))).toEqual([
      `${rel(join(dir, 'base.yaml'))}:5:47: sweep.parameters.optimizer.lr: min 0.1 is greater than max 0.01`,
    ]);
  });

  it('resolves data.dir relative to the file that names it', () => {
    const dir = files({ 'base/data.yaml': 'name: d\ndata: { dataset: idx, dir: ./digits }\n', 'exp.yaml': 'name: e\nextends: base/data.yaml\n' });
    expect(loadExperiment(join(dir, 'exp.yaml')).trials[0].config.data.dir).toBe(join(dir, 'base', 'digits'));
  });
});

describe('command-line overrides', () => {
  const dir = files({ 'exp.yaml': 'name: exp\ntraining: { epochs: 10 }\nsweep: { parameters: { training.seed: [1, 2] } }\n' });
  const file = join(dir, 'exp.yaml');

  it('--set changes values (read as YAML), --grid adds or replaces an axis', () => {
    const { trials } = loadExperiment(file, { set: ['training.epochs=3', 'model.dropout=0.25', 'optimizer.name=sgd'], grid: ['model.pooling=avg, max', 'training.seed=5'] });
    expect(trials.map((t) => t.params)).toEqual([
      { 'training.seed': 5, 'model.pooling': 'avg' },
      { 'training.seed': 5, 'model.pooling': 'max' },
    ]);
    expect(trials[0].config.training.epochs).toBe(3);
    expect(trials[0].config.model.dropout).toBe(0.25);
    expect(trials[0].config.optimizer.name).toBe('sgd');
  });

  it('names the option when its value or path is wrong', () => {
    expect(problemsOf(() => loadExperiment(file, { set: ['training.epochs=three'] }))).toEqual([
      "--set training.epochs=three: training.epochs: expected an integer, found 'three'",
    ]);
    expect(problemsOf(() => loadExperiment(file, { set: ['model.poolng=max'] }))).toEqual([
      "--set model.poolng=max: model.poolng: unknown key (did you mean 'pooling'?); known keys: pooling, activation, conv1_filters, conv2_filters, fc1_units, fc2_units, dropout, dropout_conv, batchnorm, batchnorm_fc",
    ]);
    expect(problemsOf(() => loadExperiment(file, { grid: ['model.pooling=avg,maxx'] }))).toEqual([
      "--grid model.pooling=avg,maxx: model.pooling: expected one of avg, max, found 'maxx' (did you mean 'max'?)",
    ]);
    expect(problemsOf(() => loadExperiment(file, { set: ['epochs'] }))).toEqual(['--set epochs: expected path=value, for example training.epochs=3']);
  });

  it('refuses a second --grid of the same path (the later one silently replaced the first)', () => {
    expect(problemsOf(() => loadExperiment(file, { grid: ['model.pooling=avg', 'training.seed=3', 'model.pooling=max'] }))).toEqual([
      '--grid model.pooling=max: model.pooling is already swept by --grid model.pooling=avg; give every value in one option: --grid model.pooling=avg,max',
    ]);
  });

  it('refuses a --set of a swept path, which the sweep would silently override', () => {
    expect(problemsOf(() => loadExperiment(file, { set: ['training.seed=9'] }))).toEqual([
      '--set training.seed=9: training.seed is swept (sweep.parameters), so this value would be ignored; to run one value, give it with --grid training.seed=VALUE',
    ]);
  });

  it('quotes a long option shortened, not as a line of kilobytes', () => {
    const values = Array.from({ length: 3000 }, (_, i) => i).join(',');
    const [message] = problemsOf(() => loadExperiment(file, { grid: ['training.seed=1', `training.seed=${values}`] }));
    expect(message.length).toBeLessThan(250);
    expect(message.startsWith(`--grid ${`training.seed=${values}`.slice(0, 57)}…: training.seed is already swept by --grid training.seed=1; give every value in one option: --grid training.seed=1,0,1,2,`)).toBe(true);
  });

  it('refuses extends from the command line, where it would be stored but never read', () => {
    expect(problemsOf(() => loadExperiment(file, { set: ['extends=./other.yaml'] }))).toEqual([
      '--set extends=./other.yaml: extends can only be written in the experiment file (files are merged before the command line applies)',
    ]);
  });
});

describe('an inline experiment (an object, as the API takes it)', () => {
  const inline = (value: unknown) => ({ label: '(inline experiment)', value });

  it('is composed as a file is: parents relative to the working folder, then the overrides; the caller keeps its object', () => {
    const dir = files({ 'base.yaml': 'name: base\nmodel: { pooling: max, dropout: 0.2 }\ntraining: { epochs: 3 }\n' });
    const value = { name: 'inline', extends: rel(join(dir, 'base.yaml')), training: { epochs: 2, seed: undefined } };
    const before = structuredClone(value);
    const loaded = loadExperiment(inline(value), { set: ['model.dropout=0.1'] });
    expect(loaded.file).toBe('(inline experiment)');
    expect(loaded.experiment).toMatchObject({ name: 'inline', model: { pooling: 'max', dropout: 0.1 }, training: { epochs: 2, seed: 1 } });
    expect(value).toEqual(before);
  });

  it('has its problems named by its label and config path, without a line and column', () => {
    expect(problemsOf(() => loadExperiment(inline({ name: 'x', training: { epochs: 0 }, model: { pooling: 'maxx' } })))).toEqual([
      "(inline experiment): model.pooling: expected one of avg, max, found 'maxx' (did you mean 'max'?)",
      '(inline experiment): training.epochs: must be >= 1, found 0',
    ]);
    expect(problemsOf(() => loadExperiment(inline([1])))).toEqual(['(inline experiment): expected a mapping of config sections (name, model, optimizer, …)']);
    expect(problemsOf(() => loadExperiment(inline({ name: 'x', training: { epochs: Number.NaN } })))).toEqual([
      '(inline experiment): training.epochs: expected a string, a finite number, true or false, a list or a mapping, found NaN',
    ]);
    expect(problemsOf(() => loadExperiment(inline({ name: 'x', extends: 'no-such.yaml' })))).toEqual(["(inline experiment): extends: 'no-such.yaml': no such file (no-such.yaml)"]);
  });
});
