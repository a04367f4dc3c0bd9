/**
 * A trained LeNet as a TensorFlow.js LayersModel: `model.json` and `weights.bin`, which
 * tf.loadLayersModel reads in a browser (over http) or in Node (tf.io.fromMemory, or any
 * handler). Input NHWC [N, H, W, 1], normalised as in training; output logits [N, classes] (10 for digits).
 *
 * The model is built from tf.layers with the weights of model/lenet.ts as they are (same HWIO
 * filters, [in, out] kernels, TF's flatten order), and saved through tf.io.withSaveHandler:
 * without tfjs-node there is no file:// handler, and the caller decides where the bytes go.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { io, layers, sequential, tensor, tidy, type Sequential } from '../backend/tfjs.js';
import { BN_EPSILON, BN_MOMENTUM } from '../model/batchnorm.js';
import { packageVersion } from '../version.js';
import { classesOfWeights, geometryOf, KERNEL, layerTensors, weightShape, type ModelWeights } from './weights.js';

export const WEIGHTS_FILE = 'weights.bin';

type Layer = tfjs.layers.Layer;

export interface TfjsLayersModel {
  /** What model.json holds. */
  modelJson: tfjs.io.ModelJSON;
  /** What weights.bin holds (the manifest's one path). */
  weightData: Uint8Array;
}

function build(w: ModelWeights): Sequential {
  const { model } = w;
  const geometry = geometryOf(model, w.inputSize, classesOfWeights(w));
  const net = sequential({ name: 'lenet5' });
  const relu = model.activation === 'relu';
  // tfjs's momentum weighs the old running statistic (Keras), PyTorch's (BN_MOMENTUM) the new one.
  // Irrelevant at inference; set so that fine-tuning the export moves them as training did.
  const norm = (name: string): Layer => layers.batchNormalization({ axis: -1, epsilon: BN_EPSILON, momentum: 1 - BN_MOMENTUM, name: `${name}_bn` });
  const activation = (name: string): Layer => layers.activation({ activation: model.activation, name: `${name}_${model.activation}` });
  // Dropout is the identity at inference; kept so that the model trains as ours if fine-tuned.
  const dropout = (rate: number, name: string): Layer[] => (rate > 0 ? [layers.dropout({ rate, name: `${name}_dropout` })] : []);

  geometry.conv.forEach((l, i) => {
    // As lenet.ts: relu inside the convolution when nothing comes between; otherwise batchnorm,
    // then the activation before average pooling or after max pooling.
    const fused = relu && !l.normalized;
    net.add(
      layers.conv2d({
        name: l.name,
        filters: l.outputs,
        kernelSize: KERNEL,
        padding: l.padding,
        useBias: !l.normalized,
        activation: fused ? 'relu' : 'linear',
        ...(i === 0 ? { inputShape: [w.inputSize, w.inputSize, 1] } : {}),
      }),
    );
    if (l.normalized) net.add(norm(l.name));
    const pool = (model.pooling === 'max' ? layers.maxPooling2d : layers.averagePooling2d)({ poolSize: 2, strides: 2, padding: 'valid', name: `pool${i + 1}` });
    const act = fused ? [] : [activation(l.name)];
    for (const layer of model.pooling === 'max' ? [pool, ...act] : [...act, pool]) net.add(layer);
    dropout(model.dropout_conv, l.name).forEach((d) => net.add(d));
  });
  // NHWC flatten: the order fc1's rows were trained in.
  net.add(layers.flatten({ name: 'flatten' }));
  geometry.dense.forEach((l, i) => {
    const hidden = i < geometry.dense.length - 1;
    net.add(layers.dense({ name: l.name, units: l.outputs, useBias: !l.normalized, activation: 'linear' }));
    if (l.normalized) net.add(norm(l.name));
    if (hidden) {
      net.add(activation(l.name));
      dropout(model.dropout, l.name).forEach((d) => net.add(d));
    }
  });

  tidy(() => {
    for (const l of [...geometry.conv, ...geometry.dense]) {
      const t = layerTensors(w, l);
      net.getLayer(l.name).setWeights([tensor(t.weight, weightShape(l)), ...(t.bias ? [tensor(t.bias)] : [])]);
      // tfjs's order: gamma, beta, moving mean, moving variance.
      if (t.norm) net.getLayer(`${l.name}_bn`).setWeights([t.norm.gamma, t.norm.beta, t.norm.mean, t.norm.variance].map((v) => tensor(v)));
    }
  });
  return net;
}

/** `about`: what the exporter adds to model.json's user-defined metadata (the trial, its normalisation, the classes' names). */
export async function toTfjsLayers(w: ModelWeights, about: Record<string, unknown> = {}): Promise<TfjsLayersModel> {
  const model = build(w);
  let saved: TfjsLayersModel | undefined;
  try {
    model.setUserDefinedMetadata({ 'lenet-sweep': { model: w.model, inputSize: w.inputSize, input: 'NHWC [N, H, W, 1], pixels in 0..1 normalised as in training', ...about } });
    await model.save(
      io.withSaveHandler(async (artifacts: tfjs.io.ModelArtifacts) => {
        const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0) : io.CompositeArrayBuffer.join(artifacts.weightData);
        saved = {
          // The fields tfjs's own handlers write to model.json (see io.getModelArtifactsForJSON).
          modelJson: {
            modelTopology: artifacts.modelTopology ?? {},
            format: artifacts.format,
            generatedBy: artifacts.generatedBy,
            convertedBy: `lenet-sweep ${packageVersion()}`,
            userDefinedMetadata: artifacts.userDefinedMetadata,
            weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
          },
          weightData: new Uint8Array(weightData),
        };
        return { modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
  } finally {
    model.dispose();
  }
  if (!saved) throw new Error('export: tfjs saved no artifacts');
  return saved;
}
