/** How many training images a trial will see per epoch, without loading the images. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../config/errors.js';
import type { Experiment } from '../config/experiment.types.js';
import { IDX_FILES, trainingCount } from './dataset.js';
import { readIdxHeader } from './idx.js';
import { datasetDir, splitOptions } from './sources.js';

/** The embedded digits' training file (see embedded.ts), before it is first written to the cache. */
const EMBEDDED_TRAIN = 7996;

/** Images in the training labels file of a folder, from its header; null when it is not there (yet). */
function trainFileImages(dir: string): number | null {
  const labels = [IDX_FILES[0][1], `${IDX_FILES[0][1]}.gz`].map((n) => join(dir, n)).find(existsSync);
  return labels ? readIdxHeader(labels).dims[0] : null;
}

/**
 * Training images per epoch, or null when the dataset's files are not there yet. `files` keeps
 * each folder's count for callers that ask for many trials (the files are read once each).
 */
export function trainImagesPerEpoch(config: Experiment, files = new Map<string, number | null>()): number | null {
  let dir: string;
  try {
    dir = datasetDir(config.data);
  } catch (err) {
    // Files the user names that are not (yet) right: said when the sweep prepares them, not here.
    if (err instanceof UserError) return null;
    throw err;
  }
  if (!files.has(dir)) files.set(dir, trainFileImages(dir));
  const total = files.get(dir) ?? (config.data.dataset === 'mnist' ? EMBEDDED_TRAIN : null);
  return total === null ? null : trainingCount(total, splitOptions(config));
}
