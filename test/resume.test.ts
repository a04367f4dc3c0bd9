import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index.js';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type TrainingState } from '../src/checkpoint/format.js';
import type { Experiment } from '../src/config/experiment.types.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { ensureEmbeddedMnist } from '../src/data/embedded.js';
import { trainModel } from '../src/train/loop.js';
import type { EpochMetrics } from '../src/train/metrics.js';
import { config } from './experiment-fixture.js';
import { tempDir } from './helpers.js';

let data: Dataset;

beforeAll(async () => {
  await initBackend('wasm');
  const dir = ensureEmbeddedMnist(join(tempDir(), 'mnist-embedded'));
  data = loadDataset(dir, { validation: { from: 'test' }, limitTrain: 192, mean: 0.1307, std: 0.3081 });
});

/** Everything but the timings: the numbers a resumed run must reproduce to the last digit. */
const numbers = (m: EpochMetrics) => [m.epoch, m.train_loss, m.train_acc, m.val_loss, m.val_acc, m.lr];

async function train(c: Experiment, resume?: TrainingState, stopAfter?: number) {
  const epochs: EpochMetrics[] = [];
  const states: TrainingState[] = [];
  let stop = false;
  const result = await trainModel(
    c,
    data,
    {
      onEpoch: (m, state) => {
        epochs.push(m);
        // Through the file format, as a resumed trial reads it.
        states.push(decodeCheckpoint(encodeCheckpoint({ trialId: 't', ...state })));
        if (m.epoch === stopAfter) stop = true;
      },
      shouldStop: () => stop,
    },
    resume,
  );
  return { result, epochs, states };
}

const variants: Array<[string, Parameters<typeof config>[0]]> = [
  ['the reference recipe (adam)', {}],
  ['max pooling, batchnorm on conv and fc, dropout, augmentation, plateau schedule', {
    model: { pooling: 'max', batchnorm: true, batchnorm_fc: true, dropout: 0.3, dropout_conv: 0.1 },
    augment: { rotate: 10, translate: 0.1 },
    schedule: { name: 'plateau', patience: 0, factor: 0.5 },
  }],
  ['sgd with nesterov momentum, weight decay, clipping, step schedule', {
    optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 1e-4, clip_norm: 1 },
    schedule: { name: 'step', step_size: 1, gamma: 0.5 },
  }],
  ['rmsprop with momentum', { optimizer: { name: 'rmsprop', lr: 0.001, momentum: 0.5 } }],
];

describe('exact resume from a checkpoint', () => {
  for (const [name, overrides] of variants) {
    it(`${name}: stopped after epoch 2 and resumed, ends as a run that never stopped`, async () => {
      const c = config({ ...overrides, training: { epochs: 4, batch_size: 32, seed: 7 } });
      const whole = await train(c);
      const first = await train(c, undefined, 2);
      expect(first.result.status).toBe('interrupted');
      const rest = await train(c, first.states[1]);
      expect(rest.result.status).toBe('completed');
      expect(rest.epochs.map((m) => m.epoch)).toEqual([3, 4]);
      expect([...first.epochs.slice(0, 2), ...rest.epochs].map(numbers)).toEqual(whole.epochs.map(numbers));
      expect(rest.result.testAcc).toBe(whole.result.testAcc);
      expect(rest.result.testLoss).toBe(whole.result.testLoss);
      // The final state, weights and optimizer alike, bit for bit.
      const a = whole.states.at(-1)!.tensors;
      const b = rest.states.at(-1)!.tensors;
      expect([...b.keys()]).toEqual([...a.keys()]);
      for (const [key, t] of a) expect(Buffer.from(b.get(key)!.values.buffer).equals(Buffer.from(t.values.buffer)), key).toBe(true);
      expect(rest.states.at(-1)!.history.map(numbers)).toEqual(whole.epochs.map(numbers));
    });
  }

  it('a resumed run that has all its epochs only evaluates the test set', async () => {
    const c = config({ training: { epochs: 2, batch_size: 64, seed: 3 } });
    const whole = await train(c);
    const rest = await train(c, whole.states[1]);
    expect(rest.epochs).toEqual([]);
    expect(rest.result.testAcc).toBe(whole.result.testAcc);
  });
});

describe('the checkpoint file', () => {
  it('refuses a damaged file: any flipped byte fails its checksum', async () => {
    const c = config({ training: { epochs: 1, batch_size: 64, seed: 3 } });
    const bytes = encodeCheckpoint({ ...(await train(c)).states[0], trialId: 'abc' });
    expect(decodeCheckpoint(bytes).trialId).toBe('abc');
    for (const at of [0, 10, 200, bytes.length >> 1, bytes.length - 1]) {
      const bad = bytes.slice();
      bad[at] ^= 1;
      expect(() => decodeCheckpoint(bad)).toThrow(CheckpointError);
    }
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 100))).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(new Uint8Array(0))).toThrow(/not a lenet-sweep checkpoint/);
  });
});
