/** A LeNet with a checkpoint's weights, for inference (export, predict, evaluate). */
import type { Checkpoint } from '../checkpoint/format.js';
import type { Experiment } from '../config/experiment.types.js';
import { Random } from '../util/random.js';
import { tensor, tidy } from '../backend/tfjs.js';
import { CLASSES } from '../data/class-names.js';
import { buildLeNet, type LeNet } from './lenet.js';

/** The classes a checkpoint's model tells apart: its last layer's outputs (fc3 always has its bias). */
export const classesOfCheckpoint = (checkpoint: Checkpoint) => checkpoint.tensors.get('model.fc3.bias')?.values.length ?? CLASSES;

export function modelFromCheckpoint(config: Experiment, checkpoint: Checkpoint): LeNet {
  // The generator only fills the variables before the checkpoint's values replace them.
  const model = buildLeNet(config.model, new Random(0), checkpoint.inputSize, classesOfCheckpoint(checkpoint));
  for (const [name, v] of model.named) {
    const t = checkpoint.tensors.get(`model.${name}`);
    if (!t || t.values.length !== v.size) {
      model.dispose();
      throw new Error(`the checkpoint of trial ${checkpoint.trialId} has no ${name} of ${v.size} values: it does not hold this config's model`);
    }
    tidy(() => v.assign(tensor(t.values as Float32Array, v.shape)));
  }
  return model;
}
