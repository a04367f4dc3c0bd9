/**
 * The training loop, for a trial alone or a group of trials trained as one computation (fused
 * trials): seeded shuffling, one optimizer step per batch, validation after each epoch and the
 * test set at the end. Tensors are read asynchronously (webgpu cannot read them
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
  type Scalar,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
} from '../backend/tfjs.js';
import type { Experiment } from '../config/experiment.types.js';
import { augmentBatch, isAugmenting } from '../data/augment.js';
import { gather, type Dataset } from '../data/dataset.js';
import { buildLeNet } from '../model/lenet.js';
import { Random } from '../util/random.js';
import { crossEntropy } from './cross-entropy.js';
import { buildGroupOptimizer, clipByGlobalNorm, type GroupOptimizer } from './optimizer.js';
import { evaluationChunk } from '../backend/memory.js';
import { readsAsynchronously } from '../backend/index.js';
import { hasDiverged } from './divergence.js';
import type { TrainingState } from '../checkpoint/format.js';
import { captureState, restoreState, type TrainingParts } from './state.js';
import { buildSchedule } from './schedule.js';
import { evaluate, first } from './evaluate.js';
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
  /**
   * Once the trial has ended (completed and tested, diverged, pruned or stopped), as soon as it
   * leaves its group: the others may train on for a while, and its end is not theirs to wait for.
   */
  onEnd?(result: TrainResult): void;
}

const AUGMENT_SEED_OFFSET = 0x5eed;

/** One trial of a group trained as one computation: its experiment, its hooks, and the checkpoint it resumes from. */
export interface GroupMember {
  config: Experiment;
  hooks?: TrainHooks;
  resume?: TrainingState;
}

/** A member's own parts and progress: everything a trial alone has, kept apart from the others'. */
interface Member extends Omit<TrainingParts, 'optimizer'> {
  config: Experiment;
  hooks: TrainHooks;
  augmenting: boolean;
  background: number;
  evalChunk: number;
  history: EpochMetrics[];
  firstTrainLoss: number | undefined;
  status: TrainStatus;
  pruneReason?: string;
  /** The epoch it trains in the current round. */
  epoch: number;
  lr: number;
  started: number;
  lossSum: Tensor;
  correctSum: Tensor;
  result?: TrainResult;
}

/**
 * Trains a trial, from its start or (`resume`) from the end of a checkpoint's epoch: restored
 * exactly, the rest of the run is the same, number for number, as one that never stopped.
 */
export async function trainModel(config: Experiment, data: Dataset, hooks: TrainHooks = {}, resume?: TrainingState): Promise<TrainResult> {
  return (await trainGroup([{ config, hooks, resume }], data))[0];
}

/**
 * Trains a group of trials on the same data and batch size as one computation: each step is one
 * gradient computation over all of them and one optimizer step (buildGroupOptimizer), yet each
 * trial keeps its own weights, shuffled order, augmentation, dropout masks, optimizer settings
 * and state, schedule, divergence check, judging and hooks, and its numbers are bit for bit those
 * it gets alone (a trial alone is a group of one). Trials may be at different epochs (one resumed
 * beside fresh ones): they share the batch index, not the epoch. A trial that ends, diverges, is
 * pruned or stopped leaves the group and the others go on.
 */
export async function trainGroup(group: GroupMember[], data: Dataset): Promise<TrainResult[]> {
  const batchSize = group[0].config.training.batch_size;
  if (group.some((m) => m.config.training.batch_size !== batchSize)) throw new Error('the trials of a group must share their batch size');
  const batches = Math.ceil(data.train.count / batchSize);
  // A backend that queues its work (webgpu) would let this loop run an epoch ahead of the GPU:
  // progress would lie and a stop would wait for the queue. Waiting for the previous step's
  // sums after queueing the next keeps two steps in flight.
  const pipelined = readsAsynchronously();
  const members: Member[] = [];
  let optimizer: GroupOptimizer | undefined;
  try {
    for (const { config, hooks = {} } of group) {
      const rng = new Random(config.training.seed);
      const model = buildLeNet(config.model, rng, data.height, data.classes);
      members.push({
        config,
        hooks,
        model,
        schedule: buildSchedule(config),
        rng,
        // Augmentation draws from its own generator, so turning it on leaves shuffling and dropout as they were.
        augmentRng: new Random(config.training.seed + AUGMENT_SEED_OFFSET),
        augmenting: isAugmenting(config.augment),
        background: -data.mean / data.std,
        order: Uint32Array.from({ length: data.train.count }, (_, i) => i),
        evalChunk: evaluationChunk(config.model, data.height),
        history: [],
        firstTrainLoss: undefined,
        status: 'completed',
        epoch: 0,
        lr: 0,
        started: 0,
        lossSum: scalar(0),
        correctSum: scalar(0),
      });
    }
    optimizer = buildGroupOptimizer(members.map((m) => m.config.optimizer));
    for (const [i, m] of members.entries()) {
      const resume = group[i].resume;
      if (!resume) continue;
      const into = optimizer;
      m.firstTrainLoss = restoreState(resume, { ...m, optimizer: { restore: (steps, slots) => into.restore(steps, slots, i) } }) ?? undefined;
      m.history.push(...resume.history);
    }
    for (const m of members) m.hooks.onStart?.({ paramCount: m.model.paramCount, batchesPerEpoch: batches });
    // A resumed trial is judged on its checkpoint's epoch first: a run killed after writing the
    // checkpoint but before the rule's verdict would otherwise never be judged there.
    for (const [i, m] of members.entries()) {
      const resume = group[i].resume;
      if (resume && m.hooks.judge && resume.epoch < m.config.training.epochs) prune(m, await m.hooks.judge(resume.epoch));
    }
    let training = members.filter(stillTraining);
    for (const m of members) if (!training.includes(m)) await finish(m, data);
    if (training.length !== members.length) optimizer = await regroup(optimizer, members, training);
    // Rounds of one epoch's batches, each trial in its own epoch.
    while (training.length) {
      for (const m of training) {
        m.epoch = m.history.length + 1;
        m.started = performance.now();
        m.lr = m.schedule.rate(m.epoch);
        m.rng.shuffle(m.order);
        // Loss and correct counts stay on the backend until the epoch ends: no sync per step.
        dispose([m.lossSum, m.correctSum]);
        m.lossSum = scalar(0);
        m.correctSum = scalar(0);
      }
      let stepping = training;
      for (let b = 0; b < batches; b++) {
        for (const m of stepping) if (m.hooks.shouldStop?.()) m.status = 'interrupted';
        const still = stepping.filter((m) => m.status !== 'interrupted');
        if (still.length !== stepping.length) {
          optimizer = await regroup(optimizer, stepping, still);
          stepping = still;
        }
        if (!stepping.length) break;
        const start = b * batchSize;
        const size = Math.min(batchSize, data.train.count - start);
        const batchesOf = stepping.map((m) => ({ ...gather(data, data.train, m.order, start, size), dropoutSeed: m.rng.int() }));
        const step = optimizer;
        // One tidy per step: whatever the step makes is released, even when it throws.
        const sums = tidy(() => {
          const inputs = stepping.map((m, k) => {
            const raw = tensor4d(batchesOf[k].images, [size, data.height, data.width, 1]);
            return { x: m.augmenting ? augmentBatch(raw, m.config.augment, m.augmentRng, m.background) : raw, y: tensor1d(batchesOf[k].labels, 'int32') as Tensor1D };
          });
          const losses: Tensor[] = [];
          const corrects: Tensor[] = [];
          const { grads } = variableGrads(() => {
            stepping.forEach((m, k) => {
              const { x, y } = inputs[k];
              const logits = m.model.forward(x, true, batchesOf[k].dropoutSeed);
              // Kept past variableGrads' own tidy; this step's tidy releases them.
              corrects.push(keep(sum(cast(equal(argMax(logits, 1), y), 'float32'))));
              losses.push(keep(crossEntropy(oneHot(y, data.classes) as Tensor2D, logits)));
            });
            // Each trial's loss gets a gradient of exactly 1 from the sum, as it does alone.
            return (losses.length === 1 ? losses[0] : losses.reduce((a, b) => add(a, b))) as Scalar;
          }, stepping.flatMap((m) => m.model.trainable));
          step.step(
            stepping.map((m) => m.model.trainable),
            stepping.map((m) => clipByGlobalNorm(m.model.trainable.map((v) => grads[v.name]), m.config.optimizer.clip_norm)),
            stepping.map((m) => m.lr),
          );
          const next = stepping.flatMap((m, k) => [add(m.lossSum, mul(losses[k], size)), add(m.correctSum, corrects[k])]);
          // Kept past variableGrads, so the step's tidy would not release them.
          dispose([...losses, ...corrects]);
          return next;
        });
        if (pipelined) await stepping[0].lossSum.data();
        stepping.forEach((m, k) => {
          dispose([m.lossSum, m.correctSum]);
          m.lossSum = sums[2 * k];
          m.correctSum = sums[2 * k + 1];
          m.hooks.onBatch?.(m.epoch, b + 1, batches);
        });
      }
      for (const m of training) await endEpoch(m, data, m.status === 'interrupted' ? null : optimizer.save(stepping.indexOf(m)), stepping.length > 1);
      const next = training.filter(stillTraining);
      for (const m of training) if (!next.includes(m)) await finish(m, data);
      if (next.length !== stepping.length || next.some((m, i) => m !== stepping[i])) optimizer = await regroup(optimizer, stepping, next);
      training = next;
    }
    return members.map((m) => m.result!);
  } finally {
    optimizer?.dispose();
    for (const m of members) {
      dispose([m.lossSum, m.correctSum]);
      m.model.dispose();
    }
  }
}

/** A member that has ended: tested if it completed (its own model: nothing of the others' is read), then told. */
async function finish(m: Member, data: Dataset): Promise<void> {
  const test = m.status === 'completed' ? await evaluate(m.model, data, data.test, m.evalChunk, true) : null;
  m.result = { status: m.status, pruneReason: m.pruneReason, paramCount: m.model.paramCount, testLoss: test?.loss ?? null, testAcc: test?.acc ?? null, confusion: test?.confusion ?? null };
  m.hooks.onEnd?.(m.result);
}

/** Still has an epoch to train: not ended in any way, and short of its epochs. */
const stillTraining = (m: Member) => m.status === 'completed' && m.history.length < m.config.training.epochs;

function prune(m: Member, reason: string | null): void {
  if (reason === null) return;
  m.status = 'pruned';
  m.pruneReason = reason;
}

/**
 * The end of a member's epoch: its sums read, validation, its metrics, its checkpoint (through
 * onEpoch, from `optimizerState`, a slice of the group's state where `sliced`), then the
 * divergence check and the rule's verdict. An interrupted member only lets its sums go.
 */
async function endEpoch(m: Member, data: Dataset, optimizerState: { steps: number; slots: Tensor[] } | null, sliced: boolean): Promise<void> {
  try {
    if (m.status === 'interrupted') return;
    const trainLoss = (await first(m.lossSum)) / data.train.count;
    const trainAcc = (await first(m.correctSum)) / data.train.count;
    // After the reads: until then a queueing backend may still be training.
    const trainSeconds = (performance.now() - m.started) / 1000;
    dispose([m.lossSum, m.correctSum]);
    const val = await evaluate(m.model, data, data.validation, m.evalChunk);
    const metrics: EpochMetrics = {
      epoch: m.epoch,
      train_loss: trainLoss,
      train_acc: trainAcc,
      val_loss: val.loss,
      val_acc: val.acc,
      lr: m.lr,
      seconds: (performance.now() - m.started) / 1000,
      images_per_s: data.train.count / trainSeconds,
    };
    m.schedule.observe(metrics);
    m.firstTrainLoss ??= trainLoss;
    m.history.push(metrics);
    if (m.hooks.onEpoch) await m.hooks.onEpoch(metrics, await captureState(m.epoch, data.height, m.firstTrainLoss, m.history, m, optimizerState!));
    if (hasDiverged(metrics, m.firstTrainLoss, data.classes)) m.status = 'diverged';
    else if (m.epoch < m.config.training.epochs && m.hooks.judge) prune(m, await m.hooks.judge(m.epoch));
  } finally {
    if (sliced && optimizerState) dispose(optimizerState.slots);
    dispose([m.lossSum, m.correctSum]);
  }
}

/**
 * The group's optimizer for the members still training (`to`, in order) after some left `from`:
 * each takes its steps and state with it. Unchanged when nobody left.
 */
async function regroup(optimizer: GroupOptimizer, from: Member[], to: Member[]): Promise<GroupOptimizer> {
  if (to.length === from.length || !to.length) return optimizer;
  const next = buildGroupOptimizer(to.map((m) => m.config.optimizer));
  try {
    for (const [i, m] of to.entries()) {
      const { steps, slots } = optimizer.save(from.indexOf(m));
      try {
        next.restore(steps, await Promise.all(slots.map(async (t) => (await t.data()) as Float32Array)), i);
      } finally {
        if (from.length > 1) dispose(slots);
      }
    }
  } catch (err) {
    next.dispose();
    throw err;
  }
  optimizer.dispose();
  return next;
}
