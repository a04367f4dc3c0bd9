/** How many training images a trial will see per epoch, without loading the images. */
import type { Experiment } from '../config/experiment.types.js';
import { IDX_FILES } from './dataset.js';
import { readIdx } from './idx.js';
import { DEBIAN_FASHION_MNIST, DEFAULT_VALIDATION } from './sources.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './cache-dir.js';

/** The embedded digits' training split (see embedded.ts). */
const EMBEDDED_TRAIN = 7996;

/** Training images per epoch, or null when the dataset's files are not there yet. */
export function trainImagesPerEpoch(config: Experiment): number | null {
  const { data, training } = config;
  let total: number | null;
  if (data.dataset === 'mnist') {
    total = EMBEDDED_TRAIN;
  } else {
    const dir = data.dir ?? (data.dataset === 'fashion-mnist' ? DEBIAN_FASHION_MNIST : join(cacheDir(), 'mnist-full'));
    const labels = [IDX_FILES[0][1], `${IDX_FILES[0][1]}.gz`].map((n) => join(dir, n)).find(existsSync);
    total = labels ? Math.round(readIdx(labels).dims[0] * (1 - (data.validation ?? DEFAULT_VALIDATION))) : null;
  }
  return total !== null && training.limit_train > 0 ? Math.min(total, training.limit_train) : total;
}
