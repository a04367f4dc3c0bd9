/**
 * Rules between keys that JSON Schema cannot say plainly (or only with messages nobody can
 * read). Each returns the config path at fault and what to do.
 */
import type { Experiment } from './experiment.types.js';

export interface RuleViolation {
  path: string[];
  message: string;
}

export function checkRules(config: Experiment): RuleViolation[] {
  const out: RuleViolation[] = [];
  const { data } = config;
  if (data.dataset === 'idx' && data.dir === undefined) {
    out.push({ path: ['data', 'dataset'], message: 'data.dir: required with dataset: idx (the folder of the four IDX files)' });
  }
  if (data.dataset === 'folder' && data.dir === undefined) {
    out.push({ path: ['data', 'dataset'], message: 'data.dir: required with dataset: folder (the folder holding train/ and test/, a subfolder of images per class in each; or the class folders themselves, with data.test)' });
  }
  // data.test is a file for csv and a fraction for folder: the other kind is said as such, not as a
  // path that does not exist or a folder that has no test/. Whether dir holds train/ (then no
  // fraction is wanted) is the tree's to say, when it is prepared (data/image-folder.ts).
  if (data.dataset === 'csv') {
    for (const key of ['train', 'test'] as const) {
      if (data[key] === undefined) out.push({ path: ['data', 'dataset'], message: `data.${key}: required with dataset: csv (the ${key === 'train' ? 'training' : 'test'} images' CSV file)` });
    }
    if (typeof data.test === 'number') out.push({ path: ['data', 'test'], message: `data.test: dataset: csv reads its test images from a CSV file; give that file's path (a fraction such as ${data.test} splits only a folder dataset)` });
    if (data.dir !== undefined) out.push({ path: ['data', 'dir'], message: 'data.dir: dataset: csv reads data.train and data.test; remove it' });
  } else {
    for (const key of ['train', 'label'] as const) {
      if (data[key] !== undefined) out.push({ path: ['data', key], message: `data.${key}: only dataset: csv reads CSV files; remove it, or set dataset: csv` });
    }
    if (data.dataset === 'folder' && typeof data.test === 'string') {
      out.push({ path: ['data', 'test'], message: 'data.test: dataset: folder takes the fraction of images held out for testing (0.01 to 0.5, e.g. 0.2) when dir holds the class folders directly, not a file; give a fraction, or remove it when dir holds train/ and test/' });
    } else if (data.dataset !== 'folder' && data.test !== undefined) {
      out.push({ path: ['data', 'test'], message: 'data.test: only dataset: csv (a CSV file) and folder (a fraction held out of one tree of class folders) read it; remove it' });
    }
  }
  // Made into digits (folder) or resampled (csv) when prepared; IDX files are read as they are.
  if (data.size !== undefined && data.dataset !== 'folder' && data.dataset !== 'csv') {
    out.push({ path: ['data', 'size'], message: `data.size: IDX images are used at their own size (dataset ${data.dataset}); remove it, or give the images as a folder or CSV dataset to have them made ${data.size}x${data.size}` });
  }
  if (data.dataset !== 'mnist-full' && data.mirrors !== undefined) {
    out.push({ path: ['data', 'mirrors'], message: 'data.mirrors: only dataset: mnist-full downloads; remove it' });
  }
  if (data.dataset === 'mnist') {
    for (const key of ['dir', 'validation'] as const) {
      if (data[key] !== undefined) {
        out.push({ path: ['data', key], message: `data.${key}: the embedded mnist digits have a fixed split and no folder; remove it, or use dataset: idx with the files in data.dir` });
      }
    }
  }
  const o = config.optimizer;
  if (o.nesterov && (o.name !== 'sgd' || o.momentum === 0)) {
    out.push({ path: ['optimizer', 'nesterov'], message: `optimizer.nesterov: needs sgd with momentum > 0 (found ${o.name}${o.name === 'sgd' ? ' with momentum 0' : ''})` });
  }
  return out;
}
