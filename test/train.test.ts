import { memory } from '@tensorflow/tfjs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index.js';
import type { Experiment } from '../src/config/experiment.types.js';
import { config } from './experiment-fixture.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { ensureEmbeddedMnist } from '../src/data/embedded.js';
import { trainModel } from '../src/train/loop.js';
import type { EpochMetrics } from '../src/train/metrics.js';
import { tempDir } from './helpers.js';

let dir: string;
const data = (limitTrain: number): Dataset => loadDataset(dir, { validation: { from: 'test' }, limitTrain, mean: 0.1307, std: 0.3081 });

beforeAll(async () => {
  await initBackend('wasm');
  dir = ensureEmbeddedMnist(join(tempDir(), 'mnist-embedded'));
});

async function run(c: Experiment, d: Dataset) {
  const epochs: EpochMetrics[] = [];
  const tensors: number[] = [];
  const result = await trainModel(c, d, {
    onEpoch: (m) => {
      epochs.push(m);
      tensors.push(memory().numTensors);
    },
  });
  return { result, epochs, tensors };
}

describe('training LeNet-5 on wasm', () => {
  it('has the reference parameter count; batchnorm adds scales and shifts, replacing conv biases', async () => {
    const small = data(64);
    expect((await run(config(), small)).result.paramCount).toBe(61706);
    expect((await run(config({ model: { batchnorm: true } }), small)).result.paramCount).toBe(61706 + (6 + 16));
    expect((await run(config({ model: { batchnorm_fc: true } }), small)).result.paramCount).toBe(61706 + (120 + 84));
    // Widths: conv 8@5x5 → conv 20@5x5 → fc 100 → fc 50 → 10.
    const widths = { conv1_filters: 8, conv2_filters: 20, fc1_units: 100, fc2_units: 50 };
    expect((await run(config({ model: widths }), small)).result.paramCount).toBe(25 * 8 + 8 + 25 * 8 * 20 + 20 + 500 * 100 + 100 + 100 * 50 + 50 + 50 * 10 + 10);
  });

  it('learns: two epochs on 1,024 digits reach well above chance', async () => {
    const { result, epochs } = await run(config({ training: { epochs: 2 } }), data(1024));
    expect(result.status).toBe('completed');
    expect(epochs[1].train_loss).toBeLessThan(epochs[0].train_loss);
    expect(epochs[1].val_acc).toBeGreaterThan(0.6);
    expect(result.testAcc).toBeGreaterThan(0.6);
    for (const m of epochs) {
      expect(m.lr).toBe(0.001);
      expect(m.images_per_s).toBeGreaterThan(0);
      expect(m.seconds).toBeGreaterThan(0);
    }
  });

  it('gives the same numbers for the same seed, other numbers for another seed', async () => {
    const d = data(256);
    const a = (await run(config(), d)).epochs[0];
    const b = (await run(config(), d)).epochs[0];
    const c = (await run(config({ training: { seed: 2 } }), d)).epochs[0];
    const strip = ({ seconds: _s, images_per_s: _i, ...m }: EpochMetrics) => m;
    expect(strip(a)).toEqual(strip(b));
    expect(c.train_loss).not.toBe(a.train_loss);
  });

  it('seeds dropout too: the same seed repeats, dropout changes the run', async () => {
    const d = data(256);
    const drop = config({ model: { dropout: 0.5 } });
    const a = (await run(drop, d)).epochs[0];
    expect((await run(drop, d)).epochs[0].train_loss).toBe(a.train_loss);
    expect((await run(config(), d)).epochs[0].train_loss).not.toBe(a.train_loss);
  });

  it('augmentation changes the run, repeats with the seed, and leaves shuffling alone', async () => {
    const d = data(256);
    const augmented = config({ augment: { rotate: 10, scale: 0.1, translate: 2 } });
    const a = (await run(augmented, d)).epochs[0];
    expect((await run(augmented, d)).epochs[0].train_loss).toBe(a.train_loss);
    expect((await run(config(), d)).epochs[0].train_loss).not.toBe(a.train_loss);
  });

  it('dropout after the conv blocks changes the run, and repeats with the seed', async () => {
    const d = data(256);
    const a = (await run(config({ model: { dropout_conv: 0.3 } }), d)).epochs[0].train_loss;
    expect((await run(config({ model: { dropout_conv: 0.3 } }), d)).epochs[0].train_loss).toBe(a);
    expect((await run(config(), d)).epochs[0].train_loss).not.toBe(a);
  });

  it('keeps the tensor count constant across epochs and releases everything at the end', async () => {
    const before = memory().numTensors;
    const { tensors } = await run(config({ model: { batchnorm: true, batchnorm_fc: true, dropout: 0.2, dropout_conv: 0.1, pooling: 'max' }, training: { epochs: 3 } }), data(192));
    expect(tensors).toEqual(tensors.map(() => tensors[0]));
    expect(memory().numTensors).toBe(before);
  });

  it('trains with sgd and momentum', async () => {
    const { epochs } = await run(config({ optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 }, training: { epochs: 4 } }), data(1024));
    expect(epochs[3].val_acc).toBeGreaterThan(0.6);
  });

  it('uses the scheduled learning rate in each epoch and reports it', async () => {
    const { epochs } = await run(config({ schedule: { name: 'step', step_size: 1, gamma: 0.5 }, training: { epochs: 3 } }), data(128));
    expect(epochs.map((m) => m.lr)).toEqual([0.001, 0.0005, 0.00025]);
  });

  it.each([
    ['sgd', 0.05], ['adam', 0.001], ['adamw', 0.001], ['radam', 0.005], ['rmsprop', 0.001], ['adagrad', 0.01],
  ] as const)('trains with %s', async (name, lr) => {
    const { epochs } = await run(config({ optimizer: { name, lr, weight_decay: 1e-4 }, training: { epochs: 2 } }), data(1024));
    expect(epochs[1].train_loss).toBeLessThan(epochs[0].train_loss);
    expect(epochs[1].val_acc).toBeGreaterThan(0.3);
  });

  it('gradient clipping changes the run; a generous bound does not', async () => {
    const d = data(256);
    const plain = (await run(config(), d)).epochs[0].train_loss;
    expect((await run(config({ optimizer: { clip_norm: 0.05 } }), d)).epochs[0].train_loss).not.toBe(plain);
    expect((await run(config({ optimizer: { clip_norm: 1e6 } }), d)).epochs[0].train_loss).toBeCloseTo(plain, 5);
  });

  it('stops between batches when asked, as interrupted', async () => {
    let batches = 0;
    const result = await trainModel(config({ training: { epochs: 3 } }), data(640), {
      onBatch: () => batches++,
      shouldStop: () => batches >= 3,
    });
    expect(result.status).toBe('interrupted');
    expect(batches).toBe(3);
    expect(result.testAcc).toBeNull();
  });
});
