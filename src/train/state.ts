/**
 * A training run's whole state, captured after an epoch and restored into a fresh run: the
 * model's variables (batchnorm's running statistics too), the optimizer's steps and state
 * vectors, the schedule's counters, both generators and the shuffled order of the images, which
 * each epoch shuffles again from where the last left it. Leave any of these out and a resumed
 * run drifts from one that never stopped.
 */
import { tensor as makeTensor, tidy, type Tensor } from '../backend/tfjs.js';
import type { TensorData, TrainingState } from '../checkpoint/format.js';
import type { LeNet } from '../model/lenet.js';
import type { Random } from '../util/random.js';
import type { EpochMetrics } from './metrics.js';
import type { Optimizer } from './optimizer.js';
import type { Schedule } from './schedule.js';

export interface TrainingParts {
  model: LeNet;
  /** The trial's optimizer (its part of a group's): its state is put back through this. */
  optimizer: Pick<Optimizer, 'restore'>;
  schedule: Schedule;
  rng: Random;
  augmentRng: Random;
  order: Uint32Array;
}

async function floats(t: Tensor): Promise<TensorData> {
  return { dtype: 'float32', shape: t.shape.length ? [...t.shape] : [1], values: (await t.data()) as Float32Array };
}

/** `optimizer`: the trial's optimizer steps and state vectors (Optimizer.save, or its part of a group's). */
export async function captureState(epoch: number, inputSize: number, firstTrainLoss: number, history: EpochMetrics[], p: Omit<TrainingParts, 'optimizer'>, optimizer: { steps: number; slots: Tensor[] }): Promise<TrainingState> {
  const tensors = new Map<string, TensorData>();
  for (const [name, v] of p.model.named) tensors.set(`model.${name}`, await floats(v));
  const { steps, slots } = optimizer;
  for (const [i, slot] of slots.entries()) tensors.set(`optimizer.${i}`, await floats(slot));
  tensors.set('order', { dtype: 'uint32', shape: [p.order.length], values: p.order.slice() });
  return {
    epoch,
    inputSize,
    state: { rng: p.rng.save(), augmentRng: p.augmentRng.save(), optimizerSteps: steps, schedule: p.schedule.save(), firstTrainLoss },
    history: history.slice(),
    tensors,
  };
}

/** Puts a captured state back into freshly built parts; returns the first epoch's training loss. */
export function restoreState(s: TrainingState, p: TrainingParts): number | null {
  const tensor = (name: string, dtype: TensorData['dtype']) => {
    const t = s.tensors.get(name);
    if (!t || t.dtype !== dtype) throw new Error(`the checkpoint has no ${dtype} tensor ${name}: it was not written for this model`);
    return t;
  };
  for (const [name, v] of p.model.named) {
    const t = tensor(`model.${name}`, 'float32');
    if (t.values.length !== v.size) throw new Error(`the checkpoint's ${name} has ${t.values.length} values, the model's ${v.size}: it was not written for this model`);
    tidy(() => v.assign(makeTensor(t.values as Float32Array, v.shape)));
  }
  const slots: Float32Array[] = [];
  for (let i = 0; s.tensors.has(`optimizer.${i}`); i++) slots.push(tensor(`optimizer.${i}`, 'float32').values as Float32Array);
  p.optimizer.restore(s.state.optimizerSteps, slots);
  p.schedule.restore(s.state.schedule);
  p.rng.restore(s.state.rng);
  p.augmentRng.restore(s.state.augmentRng);
  const order = tensor('order', 'uint32').values;
  if (order.length !== p.order.length) throw new Error(`the checkpoint shuffled ${order.length} training images, this dataset has ${p.order.length}`);
  p.order.set(order);
  return s.state.firstTrainLoss;
}
