/**
 * `sweep augment-preview FILE --out grid.png`: a grid of training digits, each row one digit as
 * it is (first column) and as augmented by the file's `augment` settings (the other columns),
 * so people can see what the settings do before training with them. Where the file sweeps an
 * augment setting, the grid shows the most augmentation its trials get (each setting at the
 * largest value a trial takes): a sweep of augmentation against none is there to train with
 * augmentation, and its first trial is often the one without. --trial draws one trial's.
 */
import { extname } from 'node:path';
import { tensor4d } from '../backend/tfjs.js';
import { initBackend } from '../backend/index.js';
import { UserError } from '../config/errors.js';
import { loadExperiment, type Trial } from '../config/experiment.js';
import { valueText } from '../config/load.js';
import type { Axis, Spec } from '../sweep/space.js';
import { augmentBatch, isAugmenting, type AugmentConfig } from '../data/augment.js';
import { gather, loadDataset } from '../data/dataset.js';
import { checkSplits, prepareDataset, splitOptions } from '../data/sources.js';
import { writeImageGrid } from '../util/image-grid.js';
import { Random } from '../util/random.js';
import { parse, positiveInt } from './args.js';
import { AUGMENT_PREVIEW } from './commands.js';
import { checkOutputFile } from '../util/output-path.js';
import { maxOf } from '../util/extremes.js';

const COLUMNS = 8;
const ZOOM = 3;
const GAP = 2;
/** Rows drawn at most: a few dozen digits show what the settings do; 100 is a PNG 8,600 px tall. */
export const MAX_ROWS = 100;

export async function augmentPreviewCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, AUGMENT_PREVIEW);
  if (positionals.length !== 1) throw new UserError('sweep augment-preview: expected one experiment file; see sweep augment-preview --help');
  if (!values.out) throw new UserError('sweep augment-preview: --out FILE.png is required');
  const rows = positiveInt(values.rows, 'rows') ?? 8;
  if (rows > MAX_ROWS) throw new UserError(`--rows: at most ${MAX_ROWS} digits are drawn, found ${values.rows}; a few dozen show what the settings do`);
  if (values.seed !== undefined && !/^\d+$/.test(values.seed)) throw new UserError(`--seed: expected a whole number ≥ 0, found '${values.seed}'`);
  checkOutputFile(values.out, '--out', values.force!);
  // It writes a PNG: a name saying otherwise would be a PNG under a false name.
  if (extname(values.out).toLowerCase() !== '.png') throw new UserError(`--out: the preview is a PNG image; give a file name ending in .png, found '${values.out}'`);
  const { trials, axes } = loadExperiment(positionals[0], { set: values.set });
  const trial = values.trial === undefined ? undefined : trialOf(trials, values.trial, positionals[0]);
  // A trial's config has data.dir resolved against the file that names it; the first's data,
  // backend and seed stand for the file's (only augment and training settings are swept here).
  const experiment = (trial ?? trials[0]).config;
  const augment = trial ? trial.config.augment : strongestAugment(trials, axes);
  const prepared = await prepareDataset(experiment.data);
  checkSplits(prepared, experiment);
  const { dir } = prepared;
  // A preview of a few images needs no GPU: webgpu (and auto's GPU) would load Dawn into this
  // process, whose warnings go straight to stderr; wasm draws the same transforms.
  await initBackend(experiment.backend === 'webgpu' ? 'wasm' : experiment.backend, { gpu: false });
  const data = loadDataset(dir, splitOptions(experiment));
  const { height: h, width: w } = data;
  if (rows > data.train.count) throw new UserError(`--rows: the training set has ${data.train.count} image${data.train.count === 1 ? '' : 's'}; give at most that many rows`);
  // Digits spread over the training set (IDX files are often sorted by label), each row one
  // digit repeated: every copy but the first gets augmented.
  const step = Math.max(1, Math.floor(data.train.count / rows));
  const { images: digits } = gather(data, data.train, Array.from({ length: rows }, (_, r) => r * step), 0, rows);
  const tiled = new Float32Array(rows * COLUMNS * h * w);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < COLUMNS; c++) tiled.set(digits.subarray(r * h * w, (r + 1) * h * w), (r * COLUMNS + c) * h * w);
  }
  const background = -data.mean / data.std;
  const rng = new Random(Number(values.seed ?? experiment.training.seed));
  const batch = tensor4d(tiled, [rows * COLUMNS, h, w, 1]);
  const augmented = augmentBatch(batch, augment, rng, background);
  const pixels = await augmented.data();
  batch.dispose();
  augmented.dispose();

  const { std, mean } = data;
  writeImageGrid(values.out, {
    rows,
    columns: COLUMNS,
    height: h,
    width: w,
    zoom: ZOOM,
    gap: GAP,
    cell: (r, c) => {
      const from = (r * COLUMNS + c) * h * w;
      const source = c === 0 ? tiled : pixels;
      return (y, x) => Math.round(Math.min(1, Math.max(0, source[from + y * w + x] * std + mean)) * 255);
    },
  });
  const a = augment;
  const swept = SETTINGS.filter((k) => new Set(trials.map((t) => t.config.augment[k])).size > 1 || axes.some((x) => x.path === `augment.${k}`));
  const of = trial
    ? `, trial ${trials.indexOf(trial) + 1}'s (${trial.id})`
    : swept.length
      ? `; swept, so drawn at the largest value a trial can take: ${swept.map((k) => `augment.${k}`).join(', ')}; --trial N draws one trial's`
      : '';
  console.log(
    `${values.out}: ${rows} training digits × ${COLUMNS} (first column as is, then augmented: rotate ±${valueText(a.rotate)}°, scale ±${valueText(a.scale)}, translate ±${valueText(a.translate)}px${of})` +
      (isAugmenting(a) ? '' : `; note: ${trial ? `trial ${trials.indexOf(trial) + 1}` : positionals[0]} turns augmentation off, so all columns are the same`),
  );
  return 0;
}

const SETTINGS = ['rotate', 'scale', 'translate'] as const;

/**
 * Each augment setting at the largest value a trial can take: for a grid, its most augmented
 * trial; for a bounded distribution, its upper bound (a random search's few draws, or an
 * adaptive search's start-up trials, fall short of it, and later trials may reach it).
 */
function strongestAugment(trials: Trial[], axes: Axis[]): AugmentConfig {
  const largest = (k: (typeof SETTINGS)[number]) => maxOf([...trials.map((t) => t.config.augment[k]), ...axes.filter((x) => x.path === `augment.${k}`).map((x) => upperBound(x.spec))]);
  return { ...trials[0].config.augment, rotate: largest('rotate'), scale: largest('scale'), translate: largest('translate') };
}

/** The largest value a spec gives; -Infinity where it has no bound (normal distributions: the trials' draws say). */
function upperBound(spec: Spec): number {
  if (spec.kind === 'values') return maxOf(spec.values.filter((v): v is number => typeof v === 'number'));
  switch (spec.distribution) {
    case 'uniform':
    case 'int_uniform':
    case 'log_uniform_values':
      return spec.max;
    // Drawn, then rounded to a multiple of q (sweep/space.ts): the top draw can round past max.
    case 'q_uniform':
    case 'q_log_uniform_values':
      return Number((Math.round(spec.max / spec.q) * spec.q).toPrecision(12));
    // W&B's log_uniform takes its bounds as natural-log exponents.
    case 'log_uniform':
      return Math.exp(spec.max);
    default:
      return -Infinity;
  }
}

/** The trial --trial names: its number in `sweep plan FILE` (from 1), or its id. */
function trialOf(trials: Trial[], choice: string, file: string): Trial {
  if (/^\d+$/.test(choice)) {
    const n = Number(choice);
    if (n >= 1 && n <= trials.length) return trials[n - 1];
    throw new UserError(`--trial: ${file} has ${trials.length} trial${trials.length === 1 ? '' : 's'}, found ${choice}; sweep plan ${file} lists them`);
  }
  const found = trials.find((t) => t.id === choice);
  if (!found) throw new UserError(`--trial: ${file} has no trial with id '${choice}'; sweep plan ${file} lists them (a number or an id)`);
  return found;
}
