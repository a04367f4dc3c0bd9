/**
 * `sweep augment-preview FILE --out grid.png`: a grid of training digits, each row one digit as
 * it is (first column) and as augmented by the file's `augment` settings (the other columns),
 * so people can see what the settings do before training with them.
 */
import { tensor4d } from '@tensorflow/tfjs';
import { initBackend } from '../backend/index.js';
import { UserError } from '../config/errors.js';
import { loadExperiment } from '../config/experiment.js';
import { augmentBatch, isAugmenting } from '../data/augment.js';
import { gather, loadDataset } from '../data/dataset.js';
import { checkSplits, prepareDataset, splitOptions } from '../data/sources.js';
import { encodeGrayPng } from '../util/png.js';
import { writeFileAtomic } from '../util/write-atomic.js';
import { Random } from '../util/random.js';
import { parse, positiveInt } from './args.js';
import { AUGMENT_PREVIEW } from './commands.js';

const COLUMNS = 8;
const ZOOM = 3;
const GAP = 2;

export async function augmentPreviewCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, AUGMENT_PREVIEW);
  if (positionals.length !== 1) throw new UserError('sweep augment-preview: expected one experiment file; see sweep augment-preview --help');
  if (!values.out) throw new UserError('sweep augment-preview: --out FILE.png is required');
  const rows = positiveInt(values.rows, 'rows') ?? 8;
  if (values.seed !== undefined && !/^\d+$/.test(values.seed)) throw new UserError(`--seed: expected a whole number ≥ 0, found '${values.seed}'`);
  // The first trial's config: it has data.dir resolved against the file that names it.
  const experiment = loadExperiment(positionals[0], { set: values.set }).trials[0].config;
  const prepared = await prepareDataset(experiment.data);
  checkSplits(prepared, experiment);
  const { dir } = prepared;
  // A preview of a few images needs no GPU: webgpu (and auto's GPU) would load Dawn into this
  // process, whose warnings go straight to stderr; wasm draws the same transforms.
  await initBackend(experiment.backend === 'webgpu' ? 'wasm' : experiment.backend, { gpu: false });
  const data = loadDataset(dir, splitOptions(experiment));
  const { height: h, width: w } = data;
  // Digits spread over the training set (IDX files are often sorted by label), each row one
  // digit repeated: every copy but the first gets augmented.
  const step = Math.max(1, Math.floor(data.train.count / rows));
  const { images: digits } = gather(data, data.train, Array.from({ length: rows }, (_, r) => r * step), 0, rows);
  const tiled = new Float32Array(rows * COLUMNS * h * w);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < COLUMNS; c++) tiled.set(digits.subarray(r * h * w, (r + 1) * h * w), (r * COLUMNS + c) * h * w);
  }
  const background = -experiment.data.mean / experiment.data.std;
  const rng = new Random(Number(values.seed ?? experiment.training.seed));
  const batch = tensor4d(tiled, [rows * COLUMNS, h, w, 1]);
  const augmented = augmentBatch(batch, experiment.augment, rng, background);
  const pixels = await augmented.data();
  batch.dispose();
  augmented.dispose();

  const cellW = w * ZOOM + GAP;
  const cellH = h * ZOOM + GAP;
  const width = COLUMNS * cellW + GAP;
  const height = rows * cellH + GAP;
  const out = new Uint8Array(width * height).fill(96); // grey grid lines
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < COLUMNS; c++) {
      const index = r * COLUMNS + c;
      const source = c === 0 ? tiled : pixels;
      for (let y = 0; y < h * ZOOM; y++) {
        for (let x = 0; x < w * ZOOM; x++) {
          const v = source[index * h * w + Math.floor(y / ZOOM) * w + Math.floor(x / ZOOM)];
          const p = Math.round(Math.min(1, Math.max(0, v * experiment.data.std + experiment.data.mean)) * 255);
          out[(GAP + r * cellH + y) * width + GAP + c * cellW + x] = p;
        }
      }
    }
  }
  try {
    writeFileAtomic(values.out, encodeGrayPng(out, width, height));
  } catch (err) {
    throw new UserError({ file: values.out, message: `cannot write the image (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
  }
  const a = experiment.augment;
  console.log(
    `${values.out}: ${rows} training digits × ${COLUMNS} (first column as is, then augmented: rotate ±${a.rotate}°, scale ±${a.scale}, translate ±${a.translate}px)` +
      (isAugmenting(a) ? '' : `; note: ${positionals[0]} turns augmentation off, so all columns are the same`),
  );
  return 0;
}
