/**
 * The model card written beside every export: what the model is (its config and the trial it
 * came from), how well it does, how to feed it (input size, layout, normalisation), and what it
 * takes to reproduce it.
 */
import type { Experiment } from '../config/experiment.types.js';
import type { TrainedModel } from '../model/trained-model.js';
import { packageVersion } from '../version.js';

export type ExportFormat = 'tfjs' | 'onnx' | 'onnx-int8';

export interface ModelCard {
  format: ExportFormat;
  files: string[];
  created_at: string;
  lenet_sweep: string;
  trial: {
    id: string;
    sweep: string;
    params: Record<string, unknown>;
    /** How the trial ended (a diverged, failed or pruned trial's model is exported too, with a warning). */
    status: string;
    epochs: number;
    epochs_planned: number | null;
    epoch: number;
    epoch_choice: 'best' | 'last';
    /** The epoch asked for, when its checkpoint was damaged and this older one was exported instead. */
    damaged_epoch_passed_over?: number;
  };
  input: {
    name: string;
    shape: Array<number | null>;
    layout: 'NCHW' | 'NHWC';
    dtype: 'float32';
    preprocessing: { size: number; mean: number; std: number; formula: string; polarity: string };
  };
  /** `class_names`: output n's class, the first for output 0. */
  output: { name: string; shape: Array<number | null>; meaning: string; classes: number; class_names: string[] };
  metrics: {
    metric: string;
    goal: string;
    /** The checkpoint's epoch as the trial recorded it. */
    epoch: Record<string, number>;
    /** On the trial's test split: the exported weights (tfjs, onnx), or the float weights they were quantised from (onnx-int8). */
    test_images: number;
    test_acc?: number;
    test_loss?: number;
    float_test_acc?: number;
    float_test_loss?: number;
  };
  quantization?: { weights: string; activations: string; calibration_images: number };
  config: Experiment;
  provenance: unknown;
}

export function modelCard(
  m: TrainedModel,
  format: ExportFormat,
  files: string[],
  test: { acc: number; loss: number; images: number },
  provenance: unknown,
  calibrationImages?: number,
): ModelCard {
  const { config } = m.trial;
  const size = m.checkpoint.inputSize;
  const epoch = m.checkpoint.history[m.epoch - 1];
  const onnx = format !== 'tfjs';
  // The checkpoint's outputs, as many as the names it was read with (model/trained-model.ts).
  const classes = m.classes.length;
  return {
    format,
    files,
    created_at: new Date().toISOString(),
    lenet_sweep: packageVersion(),
    trial: {
      id: m.trial.id,
      sweep: m.trial.sweep,
      params: m.trial.params,
      status: m.trial.status,
      epochs: m.trial.epochs,
      epochs_planned: m.trial.epochs_planned,
      epoch: m.epoch,
      epoch_choice: m.choice,
      ...(m.passedOver !== undefined ? { damaged_epoch_passed_over: m.passedOver } : {}),
    },
    input: {
      name: onnx ? 'input' : 'input (the first layer)',
      shape: onnx ? [null, 1, size, size] : [null, size, size, 1],
      layout: onnx ? 'NCHW' : 'NHWC',
      dtype: 'float32',
      preprocessing: {
        size,
        ...m.normalisation,
        formula: '(pixel / 255 - mean) / std',
        polarity: `light on a black background, as the training images; MNIST-style digits are centred by centre of mass in a ${Math.round((size * 20) / 28)}×${Math.round((size * 20) / 28)} box of the ${size}×${size} field (sweep predict prepares digit images so)`,
      },
    },
    output: {
      name: onnx ? 'logits' : 'the last layer',
      shape: [null, classes],
      meaning: `logits of the dataset's classes 0 to ${classes - 1}, named in class_names (${config.data.dataset}; softmax for probabilities)`,
      classes,
      class_names: m.classes,
    },
    metrics: {
      metric: config.metric.name,
      goal: config.metric.goal,
      epoch: { epoch: epoch.epoch, train_loss: epoch.train_loss, train_acc: epoch.train_acc, val_loss: epoch.val_loss, val_acc: epoch.val_acc, lr: epoch.lr },
      test_images: test.images,
      ...(format === 'onnx-int8' ? { float_test_acc: test.acc, float_test_loss: test.loss } : { test_acc: test.acc, test_loss: test.loss }),
    },
    ...(format === 'onnx-int8'
      ? {
          quantization: {
            weights: 'uint8 per output channel, zero point 128 (QDQ)',
            activations: 'uint8 per tensor, static: ranges calibrated on training images',
            calibration_images: calibrationImages ?? 0,
          },
        }
      : {}),
    config,
    provenance,
  };
}
