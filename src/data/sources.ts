/**
 * Datasets by name: where their IDX files come from (prepared and checked once, in the main
 * thread, before any worker starts: downloaded, converted from the embedded digits, from CSV
 * files or from folders of images) and how their images are split.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../config/errors.js';
import type { Experiment } from '../config/experiment.types.js';
import { diskFull, isDiskFull } from '../util/disk-full.js';
import { whyNotWritable } from '../util/make-folder.js';
import { folderProblem, statProblem } from '../util/path-problem.js';
import { NotRegularFileError } from '../util/regular-file.js';
import { cacheDir, cacheProblem, datasetFolderFull } from './cache-dir.js';
import { FASHION_MNIST_CLASSES, TooFewNames } from './class-names.js';
import { checkDatasetFolder, findFile, IDX_FILES, splitCounts, validationDraw, type DatasetShape, type SplitOptions } from './dataset.js';
import { readIdx } from './idx.js';
import { csvDatasetDir, prepareCsv } from './csv.js';
import { download, MNIST_FILES, MNIST_MIRRORS } from './download.js';
import { imageFolderDatasetDir, prepareImageFolder, sideOf } from './image-folder.js';
import { ensureEmbeddedMnist } from './embedded.js';

/** Where Debian's dataset-fashion-mnist package installs the files. */
export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

/** Validation fraction of datasets with their own test files, when the file gives none. */
export const DEFAULT_VALIDATION = 0.1;

/**
 * How a dataset is prepared, besides what its config says: options of the command that prepares
 * it. skipBad (--skip-bad): a folder dataset's images that do not decode are left out (and said)
 * instead of refused.
 */
export interface PrepareOptions {
  skipBad?: boolean;
}

/** Where a dataset's IDX files are, or (the embedded and downloaded ones) will be once prepared. */
export function datasetDir(data: Experiment['data'], { skipBad = false }: PrepareOptions = {}): string {
  switch (data.dataset) {
    case 'mnist':
      return join(cacheDir(), 'mnist-embedded');
    case 'mnist-full':
      return data.dir ?? join(cacheDir(), 'mnist-full');
    case 'fashion-mnist':
      return data.dir ?? DEBIAN_FASHION_MNIST;
    case 'idx':
      return data.dir!;
    case 'csv':
      return csvDatasetDir(data);
    case 'folder':
      return imageFolderDatasetDir(data, { skipBad });
  }
}

/** The folder of a dataset's IDX files, prepared, and what preparing it had to say (lines to show). */
async function folder(data: Experiment['data'], { skipBad = false }: PrepareOptions): Promise<{ dir: string; notes: string[] }> {
  // Converted into the cache from files the user names (their mistakes are said by name, a
  // full disk by writeDatasetFiles), at a place that what the files are gives.
  if (data.dataset === 'csv' || data.dataset === 'folder') {
    if (data.dataset === 'folder') checkFolder(data, data.dir!);
    try {
      if (data.dataset === 'csv') return { dir: prepareCsv(data), notes: [] };
      const { dir, skipped, sizes } = prepareImageFolder(data, { skipBad });
      return { dir, notes: [...(skipped.length ? [skippedNote(data.dir!, skipped)] : []), ...(sizes.size > 1 ? [sizesNote(data, sizes)] : [])] };
    } catch (err) {
      throw cacheProblem(err) ?? err;
    }
  }
  return { dir: await idxFolder(data), notes: [] };
}

/**
 * The line that says, once, when a folder dataset is prepared, that its images came in more than
 * one size: each was fitted into a digit all the same, which is worth knowing of a dataset
 * that should be uniform (a stray photo among scans).
 */
function sizesNote(data: Experiment['data'], sizes: Map<string, number>): string {
  const common = [...sizes].sort((a, b) => b[1] - a[1]);
  const shown = common.slice(0, 3).map(([size, n]) => `${size} (${n.toLocaleString('en')})`).join(', ');
  const side = sideOf(data);
  return `${data.dir}: its images come in ${sizes.size} sizes, ${shown}${sizes.size > 3 ? ', …' : ''}; each was made into a ${side}x${side} digit as sweep predict makes one`;
}

/** Images named in a note of those left out; the rest are counted. */
const SKIPPED_SHOWN = 3;

/** The line that says which images of a folder dataset were left out (paths under its dir). */
function skippedNote(dir: string, skipped: string[]): string {
  const shown = skipped.slice(0, SKIPPED_SHOWN).join(', ');
  const more = skipped.length > SKIPPED_SHOWN ? `, and ${skipped.length - SKIPPED_SHOWN} more` : '';
  return `${dir}: skipped ${images(skipped.length)} that do not decode (--skip-bad): ${shown}${more}`;
}

/** The folder of an IDX dataset: the embedded digits written out, mnist-full downloaded, the others where they lie. */
async function idxFolder(data: Experiment['data']): Promise<string> {
  const dir = datasetDir(data);
  try {
    switch (data.dataset) {
      case 'mnist':
        return ensureEmbeddedMnist(dir);
      case 'mnist-full':
        return await download({ files: MNIST_FILES, mirrors: data.mirrors ?? MNIST_MIRRORS, log: (m) => console.log(m) }, dir);
      default:
        return dir;
    }
  } catch (err) {
    // A download that found the disk full (ensureEmbeddedMnist says its own, with the room it needs).
    if (isDiskFull(err)) throw diskFull(datasetFolderFull(dir));
    if (err instanceof NotRegularFileError) throw new UserError({ file: err.path, message: `is ${err.kind}, not a regular file; remove it, and the dataset's file is written there` });
    // A folder that cannot be made or written: the cache's variable, or data.dir, is the user's to fix.
    const inCache = cacheProblem(err);
    if (inCache) throw inCache;
    const why = whyNotWritable(err);
    if (why && data.dir) throw new UserError({ file: dir, message: `cannot save the dataset's files there (${why}); check data.dir` });
    throw err;
  }
}

/** A dataset ready for the workers: the folder of its IDX files and what they hold. */
export interface PreparedDataset extends DatasetShape {
  dir: string;
  /** What preparing it had to say, as lines to show: the images --skip-bad left out. */
  notes: string[];
  /** Whether it was prepared with --skip-bad: readers of a trial prepare it so again (sweep/provenance.ts). */
  skipBad: boolean;
}

/**
 * Makes the dataset's IDX files available (downloading mnist-full), checks them, and returns
 * their folder. A missing folder or a faulty file is the user's to fix: a UserError naming it;
 * a failed download is a runtime DownloadError.
 */
export async function prepareDataset(data: Experiment['data'], options: PrepareOptions = {}): Promise<PreparedDataset> {
  // A data.dir that is there but no folder (a file, a FIFO) is said as what it is, before a
  // download tries to make it or save in it; one that is not there at all, mnist-full makes.
  if (data.dir !== undefined && statProblem(data.dir, lstatSync) === null) checkFolder(data, data.dir);
  const { dir, notes } = await folder(data, options);
  checkFolder(data, dir);
  // A faulty file throws IdxError, a UserError naming it.
  try {
    return { dir, notes, skipBad: options.skipBad ?? false, ...checkDatasetFolder(dir, givenNames(data)) };
  } catch (err) {
    // Files the user did not give (the cache's digits, Debian's Fashion-MNIST): the list is what to fix.
    if (err instanceof TooFewNames && data.dir === undefined) throw new UserError(`data.classes: ${err.reason}`);
    throw err;
  }
}

/** The dataset's folder is a folder: else one line naming it, what it is, and data.dir to fix. */
function checkFolder(data: Experiment['data'], dir: string): void {
  const problem = folderProblem(dir);
  if (problem === null) return;
  if (problem === 'no such folder') {
    const hint = data.dataset === 'fashion-mnist' && !data.dir
      ? '; install it with `apt-get install dataset-fashion-mnist`, or give data.dir'
      : '; check data.dir';
    throw new UserError({ file: dir, message: `no such folder (dataset ${data.dataset})${hint}` });
  }
  throw new UserError({ file: dir, message: `${problem} (${data.dir ? 'data.dir of ' : ''}dataset ${data.dataset}); give data.dir the folder of the dataset's ${data.dataset !== 'folder' ? 'IDX files' : typeof data.test === 'number' ? 'class folders' : 'train/ and test/ folders'}` });
}

/** How a trial's images are split and normalised. */
export function splitOptions(config: Experiment): SplitOptions {
  const { data } = config;
  return {
    // The embedded digits are one pool of 10,000 images: the held-out fifth is halved into
    // validation and test. Other datasets come with test files; validation is split off training.
    validation: data.dataset === 'mnist'
      ? { from: 'test' }
      : { from: 'train', fraction: data.validation ?? DEFAULT_VALIDATION, seed: data.split_seed },
    mean: data.mean,
    std: data.std,
    names: givenNames(data),
    limitTrain: config.training.limit_train,
  };
}

/**
 * The class names a data section gives for files that keep none (class-names.ts): data.classes,
 * else Fashion-MNIST's own. A CSV or folder dataset's are applied when it is converted, and kept
 * with its files.
 */
function givenNames(data: Experiment['data']): readonly string[] | undefined {
  return data.classes ?? (data.dataset === 'fashion-mnist' ? FASHION_MNIST_CLASSES : undefined);
}

/**
 * The file (or folder) the user gave a split's images in: a CSV file, an image folder (dir itself
 * for one tree that data.test splits), else the IDX file (0: training, 1: test).
 */
function userFile(data: Experiment['data'], dir: string, split: 0 | 1): string {
  if (data.dataset === 'csv') return String(split === 0 ? data.train : data.test);
  if (data.dataset === 'folder') return typeof data.test === 'number' ? data.dir! : join(data.dir!, split === 0 ? 'train' : 'test');
  return findFile(dir, IDX_FILES[split][0]);
}

const images = (n: number) => `${n.toLocaleString('en')} image${n === 1 ? '' : 's'}`;

/**
 * Refuses a trial whose split of the prepared files leaves a split with no images (a training set
 * of a few images, a validation fraction of it that rounds to none): trained, its loss or
 * accuracy would be NaN; and data.std: auto of images all one shade, which would divide by 0.
 * One line naming the file split, before anything trains.
 */
export function checkSplits(prepared: PreparedDataset, config: Experiment): void {
  const options = splitOptions(config);
  if (config.data.std === 'auto' && prepared.trainingPixels.std === 0) {
    throw new UserError({ file: userFile(config.data, prepared.dir, 0), message: `every pixel of its images is ${Math.round(prepared.trainingPixels.mean * 255)}: data.std: auto would divide by 0; give data.std a number` });
  }
  const counts = splitCounts(prepared, options);
  const v = options.validation;
  if (v.from === 'train') {
    const file = userFile(config.data, prepared.dir, 0);
    const share = `data.validation ${v.fraction} of its ${images(prepared.trainImages)}`;
    if (counts.validation === 0) throw new UserError({ file, message: `the validation split holds no images: ${share} rounds to none; raise data.validation, or give more training images` });
    if (counts.train === 0) throw new UserError({ file, message: `the training split holds no images: ${share} leaves none to train on; lower data.validation, or give more training images` });
    // A class whose every training image the draw takes to validate would be an output the network never trains.
    const labels = readIdx(findFile(prepared.dir, IDX_FILES[0][1])).data;
    const [all, left] = [0, 1].map(() => new Array<number>(prepared.classes.length).fill(0));
    for (const label of labels) all[label]++;
    for (const i of validationDraw(labels.length, v).train) left[labels[i]]++;
    const lost = prepared.classes.findIndex((_, c) => all[c] > 0 && left[c] === 0);
    if (lost >= 0) {
      const images = all[lost];
      throw new UserError({ file, message: `class ${prepared.classes[lost]}: data.validation ${v.fraction} takes its ${images === 1 ? 'one image' : `${images} images`} to validate, leaving none to train on; give it more images, or change data.validation or data.split_seed` });
    }
    return;
  }
  // Halved into validation (the first image on) and test: only a file of one image leaves a split empty.
  if (counts.test === 0) {
    throw new UserError({ file: userFile(config.data, prepared.dir, 1), message: 'the test split holds no images: its one image validates (the test images are halved into validation and test); give more test images' });
  }
}
