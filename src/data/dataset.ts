/**
 * Loads a train/test pair of IDX files and splits a seeded validation set off the training
 * images. Splits are index lists into the files' pixels, which stay as bytes: batches are
 * gathered and normalised when they are needed, so loading copies nothing and a worker holds
 * one byte per pixel.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../config/errors.js';
import { Random } from '../util/random.js';
import { cacheDir } from './cache-dir.js';
import { classNamesOf } from './class-names.js';
import { IdxError, readIdx, readIdxHeader, type IdxHeader } from './idx.js';
import { normalisation, pixelStats, type PixelStats } from './pixel-stats.js';

/** [images, labels] file names of the training and the test set, as MNIST names them. */
export const IDX_FILES = [
  ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
] as const;


/**
 * Where decompressed copies of gzipped IDX files are kept; none where the cache has no place
 * (a HOME that does not exist): the copies only save time.
 */
function unpackedFolder(): string | undefined {
  try {
    return join(cacheDir(), 'unpacked');
  } catch (err) {
    if (err instanceof UserError) return undefined;
    throw err;
  }
}

/** Seed of the sample kept by limitTrain: fixed, so that every trial trains on the same images. */
const LIMIT_SEED = 12345;

export interface Split {
  /** All pixels of the IDX file the split draws from (shared with the other splits of that file). */
  pixels: Uint8Array;
  /** Which images of the file belong to the split. */
  indices: Uint32Array;
  /** The split's labels, in split order. */
  labels: Uint8Array;
  count: number;
}

export interface Dataset {
  train: Split;
  validation: Split;
  test: Split;
  height: number;
  width: number;
  /** The classes the network tells apart: as many as the dataset names (class-names.ts). */
  classes: number;
  /** The classes' names, label 0's first. */
  names: string[];
  /** Normalisation of pixels in 0..1: (p − mean) / std; the training file's own where the file says auto. */
  mean: number;
  std: number;
}

/**
 * Normalised images [n, height·width] and labels of split items order[start, start + n) (or
 * items start… when order is null).
 */
export function gather(data: Dataset, split: Split, order: ArrayLike<number> | null, start: number, n: number) {
  const size = data.height * data.width;
  const images = new Float32Array(n * size);
  const labels = new Int32Array(n);
  const scale = 1 / (255 * data.std);
  const shift = data.mean / data.std;
  for (let k = 0; k < n; k++) {
    const item = order ? order[start + k] : start + k;
    const from = split.indices[item] * size;
    const to = k * size;
    for (let p = 0; p < size; p++) images[to + p] = split.pixels[from + p] * scale - shift;
    labels[k] = split.labels[item];
  }
  return { images, labels };
}

/**
 * Where validation images come from: a seeded fraction of the training images, or (for a
 * dataset with one pool of images, like the embedded digits) every other image of the test
 * file, which is then stratified like the test file itself.
 */
export type ValidationSource = { from: 'train'; fraction: number; seed: number } | { from: 'test' };

export interface SplitOptions {
  validation: ValidationSource;
  /** Normalisation of pixels in 0..1: (p − mean) / std; auto: the training file's own (pixel-stats.ts). */
  mean: number | 'auto';
  std: number | 'auto';
  /** The classes' names where the data section gives them and the files keep none (IDX files): class-names.ts. */
  names?: readonly string[];
  /** Keep only N training images, the same seeded sample for every trial; 0 keeps all. */
  limitTrain: number;
}

const validationCount = (trainFileImages: number, fraction: number) => Math.round(trainFileImages * fraction);

/** How many training images a split keeps of a training file's: what validation leaves, at most limitTrain. */
export function trainingCount(trainFileImages: number, options: Pick<SplitOptions, 'validation' | 'limitTrain'>): number {
  return splitCounts({ trainImages: trainFileImages, testImages: 0 }, options).train;
}

/** How many images each split holds, from the files' counts alone (as loadDataset splits them). */
export function splitCounts(files: Pick<DatasetShape, 'trainImages' | 'testImages'>, options: Pick<SplitOptions, 'validation' | 'limitTrain'>): { train: number; validation: number; test: number } {
  const v = options.validation;
  const limit = (n: number) => (options.limitTrain > 0 ? Math.min(n, options.limitTrain) : n);
  if (v.from === 'train') {
    const validation = validationCount(files.trainImages, v.fraction);
    return { train: limit(files.trainImages - validation), validation, test: files.testImages };
  }
  // Every other test image validates, the first one included.
  return { train: limit(files.trainImages), validation: Math.ceil(files.testImages / 2), test: Math.floor(files.testImages / 2) };
}

/** Which images of a training file of `n` validate and which train: a seeded draw of the fraction. */
export function validationDraw(n: number, v: { fraction: number; seed: number }): { validation: Uint32Array; train: Uint32Array } {
  const order = new Random(v.seed).shuffle(Uint32Array.from({ length: n }, (_, i) => i));
  const nValidation = validationCount(n, v.fraction);
  return { validation: order.slice(0, nValidation), train: order.subarray(nValidation) };
}

export function findFile(dir: string, stem: string): string {
  // A link that leads nowhere is found too, so that reading it says why (a loop, a missing target).
  for (const name of [stem, `${stem}.gz`]) if (lstatSync(join(dir, name), { throwIfNoEntry: false })) return join(dir, name);
  throw new IdxError(join(dir, stem), 'not found (also looked for .gz)');
}

/** What a dataset folder holds: its images (training and test files together) and their side in pixels. */
export interface DatasetShape {
  images: number;
  side: number;
  /** Images in the training file and in the test file. */
  trainImages: number;
  testImages: number;
  /** The classes' names, label 0's first (class-names.ts). */
  classes: string[];
  /** The training file's pixels' mean and standard deviation (0..1), for data.mean/std: auto. */
  trainingPixels: PixelStats;
}

/**
 * Checks the four IDX files of a dataset folder; throws IdxError naming the faulty file. The
 * headers are checked first, against each other too, so that a file claiming millions of
 * images is refused before anything is unpacked; then the data is read, one file at a time.
 */
export function checkDatasetFolder(dir: string, names?: readonly string[]): DatasetShape {
  const [train, test] = IDX_FILES.map((names) => pairHeaders(dir, names));
  for (const pair of [train, test]) {
    const [, rows, cols] = pair.images.dims;
    // LeNet-5 is built for square images of at least 12 pixels (two 5x5 convolutions, two poolings).
    if (rows !== cols || rows < 12) throw new IdxError(pair.imagesPath, `images are ${rows}x${cols}; LeNet-5 here needs square images of at least 12x12`);
  }
  const size = (p: PairHeaders) => p.images.dims.slice(1).join('x');
  if (size(train) !== size(test)) throw new IdxError(test.imagesPath, `images are ${size(test)}, the training images ${size(train)}`);
  // Read in full for what only the data shows: a .gz that does not unpack, the labels' range, the pixels' statistics.
  const [[trainTop, trainingPixels], [testTop]] = [train, test].map((pair) => {
    const pixels = readIdx(pair.imagesPath, unpackedFolder()).data;
    return [topLabel(readIdx(pair.labelsPath, unpackedFolder()).data), pair === train ? pixelStats(pixels) : null] as const;
  });
  if (testTop > trainTop) throw new IdxError(test.labelsPath, testBeyondTraining(testTop, trainTop));
  const classes = classNamesOf(dir, names, trainTop, train.labelsPath);
  const [trainImages, testImages] = [train.images.dims[0], test.images.dims[0]];
  return { images: trainImages + testImages, side: train.images.dims[1], trainImages, testImages, classes, trainingPixels: trainingPixels! };
}

const topLabel = (labels: Uint8Array) => labels.reduce((a, b) => Math.max(a, b), 0);

/** Why test labels above every training label are refused (IDX and CSV datasets alike). */
export const testBeyondTraining = (testTop: number, trainTop: number) =>
  `label ${testTop} found, but the training labels go to ${trainTop}: the network would be tested on classes it never trained on; give training images of every class`;

interface PairHeaders {
  imagesPath: string;
  labelsPath: string;
  images: IdxHeader;
  labels: IdxHeader;
}

/**
 * The headers of an images file and its labels file, checked against each other before either
 * is read: a count that does not match, or none at all, is refused without unpacking anything.
 */
function pairHeaders(dir: string, [imagesName, labelsName]: readonly [string, string]): PairHeaders {
  const imagesPath = findFile(dir, imagesName);
  const labelsPath = findFile(dir, labelsName);
  const images = readIdxHeader(imagesPath);
  const labels = readIdxHeader(labelsPath);
  if (images.dims.length !== 3) throw new IdxError(imagesPath, `expected 3 dimensions (count, rows, cols), found ${images.dims.length}`);
  if (labels.dims.length !== 1) throw new IdxError(labelsPath, `expected 1 dimension (count), found ${labels.dims.length}`);
  if (images.dims[0] !== labels.dims[0]) {
    throw new IdxError(labelsPath, `${labels.dims[0]} labels for ${images.dims[0]} images in ${imagesPath}`);
  }
  // A training file without images trains to a NaN loss; a test file without them, to an accuracy of NaN.
  if (images.dims[0] === 0) throw new IdxError(imagesPath, `holds no images (its header states ${images.dims.join('x')}); a dataset needs training and test images`);
  return { imagesPath, labelsPath, images, labels };
}

function readPair(dir: string, names: readonly [string, string]) {
  const { imagesPath, labelsPath } = pairHeaders(dir, names);
  return { images: readIdx(imagesPath, unpackedFolder()), labels: readIdx(labelsPath, unpackedFolder()) };
}

function split(pixels: Uint8Array, labels: Uint8Array, indices: Uint32Array): Split {
  return { pixels, indices, labels: indices.length ? Uint8Array.from(indices, (i) => labels[i]) : new Uint8Array(0), count: indices.length };
}

export function loadDataset(dir: string, options: SplitOptions): Dataset {
  const train = readPair(dir, IDX_FILES[0]);
  const test = readPair(dir, IDX_FILES[1]);
  const [, height, width] = train.images.dims;
  const range = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);
  const v = options.validation;
  let trainIdx: Uint32Array;
  let validation: Split;
  const fromTrain = (idx: Uint32Array) => split(train.images.data, train.labels.data, idx);
  const fromTest = (idx: Uint32Array) => split(test.images.data, test.labels.data, idx);
  let testIdx = range(test.labels.dims[0]);
  if (v.from === 'train') {
    const drawn = validationDraw(train.labels.dims[0], v);
    validation = fromTrain(drawn.validation);
    trainIdx = drawn.train;
  } else {
    validation = fromTest(testIdx.filter((i) => i % 2 === 0));
    testIdx = testIdx.filter((i) => i % 2 === 1);
    trainIdx = range(train.labels.dims[0]);
  }
  // IDX files are often sorted by label: a limited sample must be drawn, not cut off the front.
  if (options.limitTrain > 0) trainIdx = new Random(LIMIT_SEED).shuffle(trainIdx.slice()).subarray(0, options.limitTrain);
  const names = classNamesOf(dir, options.names, Math.max(topLabel(train.labels.data), topLabel(test.labels.data)), findFile(dir, IDX_FILES[0][1]));
  return {
    train: fromTrain(trainIdx),
    validation,
    test: fromTest(testIdx),
    height,
    width,
    classes: names.length,
    names,
    ...normalisation(options, () => pixelStats(train.images.data)),
  };
}
