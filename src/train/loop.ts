/**
 * The training loop: seeded shuffling, one optimizer step per batch, validation after each
 * epoch and the test set at the end. Tensors are read asynchronously (webgpu cannot read them
 * any other way in Node); on wasm and cpu every kernel has run by then anyway. The caller
 * learns about progress through hooks.
 */
import {
  add,
  argMax,
  cast,
  dispose,
  equal,
  keep,
  mul,
  oneHot,
  scalar,
  sum,
  tensor1d,
  tensor4d,
  tidy,
  variableGrads,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
} from '../backend/tfjs.js';
import type { Experiment } from '../config/experiment.types.js';
import { augmentBatch, isAugmenting } from '../data/augment.js';
import { CLASSES, gather, type Dataset, type Split } from '../data/dataset.js';
import { buildLeNet, type LeNet } from '../model/lenet.js';
import { Random } from '../util/random.js';
import { crossEntropy } from './cross-entropy.js';
import { buildOptimizer, clipByGlobalNorm } from './optimizer.js';
import { evaluationChunk } from '../backend/memory.js';
import { readsAsynchronously } from '../backend/index.js';
import { hasDiverged } from './divergence.js';
import type { TrainingState } from '../checkpoint/format.js';
import { captureState, restoreState } from './state.js';
import { buildSchedule } from './schedule.js';
import type { EpochMetrics, TrainStatus } from './metrics.js';

export interface TrainResult {
  status: TrainStatus;
  /** Why the sweep's early-termination rule stopped the trial (status pruned). */
  pruneReason?: string;
  paramCount: number;
  testLoss: number | null;
  testAcc: number | null;
  /** On the test set (completed trials): `confusion[actual][predicted]` counts images. */
  confusion: number[][] | null;
}

export interface TrainHooks {
  onStart?(info: { paramCount: number; batchesPerEpoch: number }): void;
  onBatch?(epoch: number, batch: number, batches: number): void;
  /**
   * After each epoch's validation, with the whole training state at its end: training goes on
   * once the returned promise settles (the worker writes the checkpoint first, then reports the
   * epoch, so a stored epoch always has its checkpoint on disk).
   */
  onEpoch?(metrics: EpochMetrics, state: TrainingState): void | Promise<void>;
  /** Polled between batches; true ends the trial as interrupted. */
  shouldStop?(): boolean;
  /**
   * Asked after every epoch but the last, once onEpoch has reported it (and, for a resumed run,
   * on its checkpoint's epoch once onStart has): the early-termination rule's answer, null to go
   * on or the reason the trial stops (pruned, without a test evaluation).
   */
  judge?(epoch: number): Promise<string | null>;
}

/** The first element of a tensor, read without blocking the thread (the only way on webgpu). */
async function first(t: Tensor): Promise<number> {
  return (await t.data())[0];
}


const AUGMENT_SEED_OFFSET = 0x5eed;

/** Mean loss and accuracy over a split, in inference mode; with `confusion`, its confusion matrix too. */
export async function evaluate(model: LeNet, data: Dataset, split: Split, chunk = 1000, confusion = false): Promise<{ loss: number; acc: number; confusion: number[][] | null }> {
  let lossSum = 0;
  let correct = 0;
  const matrix = confusion ? Array.from({ length: CLASSES }, () => new Array<number>(CLASSES).fill(0)) : null;
  for (let start = 0; start < split.count; start += chunk) {
    const n = Math.min(chunk, split.count - start);
    const { images, labels } = gather(data, split, null, start, n);
    const sums = tidy(() => {
      const x = tensor4d(images, [n, data.height, data.width, 1]);
      const y = tensor1d(labels, 'int32');
      const logits = model.forward(x, false);
      const loss = crossEntropy(oneHot(y, CLASSES) as Tensor2D, logits, 'sum');
      const predicted = argMax(logits, 1);
      return [loss, sum(cast(equal(predicted, y), 'float32')), ...(matrix ? [predicted] : [])];
    });
    try {
      lossSum += await first(sums[0]);
      correct += await first(sums[1]);
      if (matrix) {
        const predicted = await sums[2].data();
        for (let i = 0; i < n; i++) matrix[labels[i]][predicted[i]]++;
      }
    } finally {
      dispose(sums);
    }
  }
  return { loss: lossSum / split.count, acc: correct / split.count, confusion: matrix };
}

/**
 * Trains a trial, from its start or (`resume`) from the end of a checkpoint's epoch: restored
 * exactly, the rest of the run is the same, number for number, as one that never stopped.
 */
export async function trainModel(config: Experiment, data: Dataset, hooks: TrainHooks = {}, resume?: TrainingState): Promise<TrainResult> {
  const rng = new Random(config.training.seed);
  const model = buildLeNet(config.model, rng, data.height);
  const optimizer = buildOptimizer(config.optimizer);
  const schedule = buildSchedule(config);
  // Augmentation draws from its own generator, so turning it on leaves shuffling and dropout as they were.
  const augmenting = isAugmenting(config.augment);
  const augmentRng = new Random(config.training.seed + AUGMENT_SEED_OFFSET);
  const background = -config.data.mean / config.data.std;
  const { batch_size: batchSize, epochs } = config.training;
  const batches = Math.ceil(data.train.count / batchSize);
  const order = Uint32Array.from({ length: data.train.count }, (_, i) => i);
  const evalChunk = evaluationChunk(config.model, data.height);
  // A backend that queues its work (webgpu) would let this loop run an epoch ahead of the GPU:
  // progress would lie and a stop would wait for the queue. Waiting for the previous step's
  // sums after queueing the next keeps two steps in flight.
  const pipelined = readsAsynchronously();
  const parts = { model, optimizer, schedule, rng, augmentRng, order };
  let firstTrainLoss: number | undefined;
  const history: EpochMetrics[] = [];
  let status: TrainStatus = 'completed';
  let pruneReason: string | undefined;
  try {
    if (resume) {
      firstTrainLoss = restoreState(resume, parts) ?? undefined;
      history.push(...resume.history);
    }
    hooks.onStart?.({ paramCount: model.paramCount, batchesPerEpoch: batches });
    // A resumed trial is judged on its checkpoint's epoch first: a run killed after writing the
    // checkpoint but before the rule's verdict would otherwise never be judged there.
    if (resume && hooks.judge && resume.epoch < epochs) {
      const reason = await hooks.judge(resume.epoch);
      if (reason !== null) {
        status = 'pruned';
        pruneReason = reason;
      }
    }
    for (let epoch = history.length + 1; epoch <= epochs && status === 'completed'; epoch++) {
      const epochStart = performance.now();
      const lr = schedule.rate(epoch);
      rng.shuffle(order);
      // Loss and correct counts stay on the backend until the epoch ends: no sync per step.
      let lossSum: Tensor = scalar(0);
      let correctSum: Tensor = scalar(0);
      for (let b = 0; b < batches; b++) {
        if (hooks.shouldStop?.()) {
          status = 'interrupted';
          break;
        }
        const start = b * batchSize;
        const size = Math.min(batchSize, data.train.count - start);
        const { images, labels } = gather(data, data.train, order, start, size);
        const dropoutSeed = rng.int();
        // One tidy per step: whatever the step makes is released, even when it throws.
        const [nextLoss, nextCorrect] = tidy(() => {
          const raw = tensor4d(images, [size, data.height, data.width, 1]);
          const x = augmenting ? augmentBatch(raw, config.augment, augmentRng, background) : raw;
          const y = tensor1d(labels, 'int32') as Tensor1D;
          let correct: Tensor = scalar(0);
          const { value: loss, grads } = variableGrads(() => {
            const logits = model.forward(x, true, dropoutSeed);
            // Kept past variableGrads' own tidy; this step's tidy releases it.
            correct = keep(sum(cast(equal(argMax(logits, 1), y), 'float32')));
            return crossEntropy(oneHot(y, CLASSES) as Tensor2D, logits);
          }, model.trainable);
          optimizer.step(model.trainable, clipByGlobalNorm(model.trainable.map((v) => grads[v.name]), config.optimizer.clip_norm), lr);
          const sums = [add(lossSum, mul(loss, size)), add(correctSum, correct)];
          dispose(correct);
          return sums;
        });
        if (pipelined) await lossSum.data();
        dispose([lossSum, correctSum]);
        lossSum = nextLoss;
        correctSum = nextCorrect;
        hooks.onBatch?.(epoch, b + 1, batches);
      }
      const trainLoss = (await first(lossSum)) / data.train.count;
      const trainAcc = (await first(correctSum)) / data.train.count;
      // After the reads: until then a queueing backend may still be training.
      const trainSeconds = (performance.now() - epochStart) / 1000;
      dispose([lossSum, correctSum]);
      if (status === 'interrupted') break;
      const val = await evaluate(model, data, data.validation, evalChunk);
      const metrics: EpochMetrics = {
        epoch,
        train_loss: trainLoss,
        train_acc: trainAcc,
        val_loss: val.loss,
        val_acc: val.acc,
        lr,
        seconds: (performance.now() - epochStart) / 1000,
        images_per_s: data.train.count / trainSeconds,
      };
      schedule.observe(metrics);
      firstTrainLoss ??= trainLoss;
      history.push(metrics);
      if (hooks.onEpoch) await hooks.onEpoch(metrics, await captureState(epoch, data.height, firstTrainLoss, history, parts));
      if (hasDiverged(metrics, firstTrainLoss, CLASSES)) status = 'diverged';
      else if (epoch < epochs && hooks.judge) {
        const reason = await hooks.judge(epoch);
        if (reason !== null) {
          status = 'pruned';
          pruneReason = reason;
        }
      }
    }
    const test = status === 'completed' ? await evaluate(model, data, data.test, evalChunk, true) : null;
    return { status, pruneReason, paramCount: model.paramCount, testLoss: test?.loss ?? null, testAcc: test?.acc ?? null, confusion: test?.confusion ?? null };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
