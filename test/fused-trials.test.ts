/**
 * Fused trials (train/loop.ts's trainGroup): trials trained as one computation give, trial by
 * trial, the numbers each gives alone, bit for bit: every epoch's metrics, every checkpoint (the
 * whole training state), the test results. For every model option, optimizer and schedule, with
 * trials that differ in seed, learning rate and optimizer settings; and when a trial leaves the
 * group (diverged, pruned, stopped) or joins it resumed from a checkpoint.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCheckpoint, type TrainingState } from '../src/checkpoint/format.js';
import { initBackend } from '../src/backend/index.js';
import type { Experiment } from '../src/config/experiment.types.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { ensureEmbeddedMnist } from '../src/data/embedded.js';
import { trainGroup, trainModel, type GroupMember, type TrainHooks, type TrainResult } from '../src/train/loop.js';
import { config } from './experiment-fixture.js';
import { tempDir } from './helpers.js';

let data: Dataset;

beforeAll(async () => {
  await initBackend('wasm');
  const dir = ensureEmbeddedMnist(join(tempDir(), 'mnist-embedded'));
  // 96 training images in batches of 32 (3 steps an epoch), 48 to validate and test on.
  data = loadDataset(dir, { validation: { from: 'test' }, limitTrain: 96, mean: 0.1307, std: 0.3081 });
  for (const split of [data.validation, data.test]) split.count = Math.min(split.count, 48);
});

type Overrides = NonNullable<Parameters<typeof config>[0]>;

/** What a trial reports: each epoch's numbers (timings aside) and its checkpoint's digest, then its result. */
interface Record {
  epochs: string[];
  result: TrainResult;
}

function recorder(hooks: TrainHooks = {}): { hooks: TrainHooks; record: Record; states: TrainingState[] } {
  const record: Record = { epochs: [], result: undefined as unknown as TrainResult };
  const states: TrainingState[] = [];
  return {
    record,
    states,
    hooks: {
      ...hooks,
      onEpoch: (metrics, state) => {
        const { seconds: _s, images_per_s: _i, ...numbers } = metrics;
        // The history's timings aside, as above: the rest is the whole training state.
        const history = state.history.map((h) => ({ ...h, seconds: 0, images_per_s: 0 }));
        const digest = createHash('sha256').update(encodeCheckpoint({ trialId: 'x', ...state, history })).digest('hex');
        record.epochs.push(`${JSON.stringify(numbers)} ${digest}`);
        states.push(state);
      },
    },
  };
}

async function alone(c: Experiment, hooks?: TrainHooks, resume?: TrainingState): Promise<Record> {
  const r = recorder(hooks);
  r.record.result = await trainModel(c, data, r.hooks, resume);
  return r.record;
}

async function together(members: Array<{ config: Experiment; hooks?: TrainHooks; resume?: TrainingState }>): Promise<Record[]> {
  const rs = members.map((m) => recorder(m.hooks));
  const group: GroupMember[] = members.map((m, i) => ({ config: m.config, hooks: rs[i].hooks, resume: m.resume }));
  const results = await trainGroup(group, data);
  return rs.map((r, i) => ({ ...r.record, result: results[i] }));
}

/** Three trials of one shape: other seeds, rates and optimizer settings. */
function trio(o: Overrides = {}): Experiment[] {
  const base = (extra: Overrides) =>
    config({
      ...o,
      ...extra,
      model: { ...o.model },
      training: { epochs: 2, batch_size: 32, ...o.training, ...extra.training },
      optimizer: { ...o.optimizer, ...extra.optimizer },
      augment: { ...o.augment },
      schedule: { ...o.schedule },
    });
  return [
    base({ training: { seed: 1 }, optimizer: { lr: 0.002 } }),
    base({ training: { seed: 2 }, optimizer: { lr: 0.01, beta1: 0.8, momentum: 0.5, weight_decay: 0.001 } }),
    base({ training: { seed: 3 }, optimizer: { lr: 0.005, beta2: 0.99, epsilon: 1e-6, nesterov: true, momentum: 0.9 } }),
  ];
}

async function expectFusedAsAlone(trials: Experiment[], reordered = false) {
  const expected = [];
  for (const t of trials) expected.push(await alone(t));
  expect(await together(trials.map((t) => ({ config: t })))).toEqual(expected);
  // In a group of two as well, with the third trial first: its place in the group changes nothing.
  if (reordered) expect(await together([trials[2], trials[0]].map((t) => ({ config: t })))).toEqual([expected[2], expected[0]]);
}

describe('a fused trial gives the numbers it gives alone, bit for bit', () => {
  const cases: Array<[string, Overrides]> = [
    ['the reference recipe (avg pooling, relu, adam)', {}],
    ['max pooling, tanh', { model: { pooling: 'max', activation: 'tanh' } }],
    ['sigmoid', { model: { activation: 'sigmoid' } }],
    ['batchnorm after the convolutions and the dense layers', { model: { batchnorm: true, batchnorm_fc: true } }],
    ['dropout after the convolutions and the dense layers', { model: { dropout: 0.3, dropout_conv: 0.2 } }],
    ['other widths', { model: { conv1_filters: 4, conv2_filters: 8, fc1_units: 32, fc2_units: 16 } }],
    ['augmentation', { augment: { rotate: 10, scale: 0.1, translate: 2 } }],
    ['sgd (momentum and nesterov mixed)', { optimizer: { name: 'sgd' } }],
    ['adamw', { optimizer: { name: 'adamw', weight_decay: 0.01 } }],
    ['radam', { optimizer: { name: 'radam' } }],
    ['rmsprop', { optimizer: { name: 'rmsprop' } }],
    ['adagrad', { optimizer: { name: 'adagrad' } }],
    ['gradient clipping', { optimizer: { clip_norm: 0.5 } }],
    ['a step schedule', { schedule: { name: 'step', step_size: 1, gamma: 0.5 } }],
    ['a cosine schedule with warm-up', { schedule: { name: 'cosine', warmup_epochs: 1 }, training: { epochs: 3 } }],
    ['a plateau schedule', { schedule: { name: 'plateau', patience: 0, factor: 0.5 }, training: { epochs: 3 } }],
  ];
  for (const [name, o] of cases) it(name, async () => expectFusedAsAlone(trio(o), name.includes('dropout') || name.includes('reference')));
});

describe('trials leave and join a group', () => {
  it('a diverged trial leaves; the others finish as alone', async () => {
    const [a, b, c] = trio({ optimizer: { name: 'sgd' }, training: { epochs: 3 } });
    const diverging = { ...b, optimizer: { ...b.optimizer, lr: 1e4 } };
    const expected = [await alone(a), await alone(diverging), await alone(c)];
    expect(expected[1].result.status).toBe('diverged');
    expect(await together([a, diverging, c].map((t) => ({ config: t })))).toEqual(expected);
  });

  it('a pruned trial and one with fewer epochs leave; the others finish as alone', async () => {
    const [a, b, c] = trio({ training: { epochs: 3 } });
    const short = { ...c, training: { ...c.training, epochs: 1 } };
    const judge = (epoch: number) => Promise.resolve(epoch === 1 ? 'pruned by the rule' : null);
    const expected = [await alone(a), await alone(b, { judge }), await alone(short)];
    expect(expected[1].result.status).toBe('pruned');
    expect(await together([{ config: a }, { config: b, hooks: { judge } }, { config: short }])).toEqual(expected);
  });

  it('a trial stopped mid-epoch leaves; the others finish as alone', async () => {
    const [a, b, c] = trio();
    let steps = 0;
    const shouldStop = () => ++steps > 4;
    const stoppedAlone = await alone(b, { shouldStop });
    steps = 0;
    const expected = [await alone(a), stoppedAlone, await alone(c)];
    expect(stoppedAlone.result.status).toBe('interrupted');
    expect(await together([{ config: a }, { config: b, hooks: { shouldStop } }, { config: c }])).toEqual(expected);
  });

  it('a trial resumed from its checkpoint trains beside fresh ones (another epoch) and ends as if never stopped', async () => {
    const [a, b, c] = trio({ model: { dropout: 0.2 }, training: { epochs: 3 } });
    const whole = recorder();
    whole.record.result = await trainModel(b, data, whole.hooks);
    const resumed = await together([{ config: a }, { config: b, resume: whole.states[0] }, { config: c }]);
    expect(resumed[1].epochs).toEqual(whole.record.epochs.slice(1));
    expect(resumed[1].result).toEqual(whole.record.result);
    expect([resumed[0], resumed[2]]).toEqual([await alone(a), await alone(c)]);
  });
});
