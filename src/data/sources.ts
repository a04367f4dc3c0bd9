/**
 * Datasets by name: where their IDX files come from (prepared once, in the main thread, before
 * any worker starts) and how their images are split.
 */
import { join } from 'node:path';
import type { Experiment } from '../config/experiment.types.js';
import { cacheDir } from './cache-dir.js';
import type { ValidationSource } from './dataset.js';
import { ensureEmbeddedMnist } from './embedded.js';

/** Makes the dataset's IDX files available and returns their folder. */
export function prepareDataset(data: Experiment['data']): string {
  switch (data.dataset) {
    case 'mnist':
      return ensureEmbeddedMnist(join(cacheDir(), 'mnist-embedded'));
  }
}

export function validationSource(data: Experiment['data']): ValidationSource {
  switch (data.dataset) {
    // One pool of 10,000 images: the held-out fifth is halved into validation and test.
    case 'mnist':
      return { from: 'test' };
  }
}
