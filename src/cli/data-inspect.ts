/**
 * `sweep data inspect FILE [--out sheet.png]`: what the file's data section resolves to, before
 * anything trains: the dataset prepared as a sweep prepares it (and how long that took), its
 * classes with their images in each split, the images' size, their pixels' mean and standard
 * deviation against what the file normalises with, and where the prepared files are. --out
 * draws a contact sheet: a row of training images per class, as the network gets them.
 */
import { extname } from 'node:path';
import { UserError } from '../config/errors.js';
import { loadExperiment } from '../config/experiment.js';
import { loadDataset, type Dataset, type Split } from '../data/dataset.js';
import { checkSplits, prepareDataset, splitOptions } from '../data/sources.js';
import { writeImageGrid } from '../util/image-grid.js';
import { checkOutputFile } from '../util/output-path.js';
import { parse, positiveInt } from './args.js';
import { DATA_INSPECT } from './commands.js';
import { print, render } from './output.js';

/** Images per class on the contact sheet at most: a row of 32 is about 2,000 pixels wide. */
const MOST_PER_CLASS = 32;
const ZOOM = 2;
const GAP = 2;

export async function dataInspect(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, DATA_INSPECT);
  if (positionals.length !== 1) throw new UserError('sweep data inspect: expected one experiment file; see sweep data inspect --help');
  const perClass = positiveInt(values['per-class'], 'per-class') ?? 10;
  if (perClass > MOST_PER_CLASS) throw new UserError(`--per-class: at most ${MOST_PER_CLASS} images per class are drawn, found ${values['per-class']}`);
  if (values.out !== undefined) {
    checkOutputFile(values.out, '--out', values.force!);
    if (extname(values.out).toLowerCase() !== '.png') throw new UserError(`--out: the contact sheet is a PNG image; give a file name ending in .png, found '${values.out}'`);
  }
  const file = positionals[0];
  // The data of the file's first trial: data settings are not swept.
  const config = loadExperiment(file, { set: values.set }).trials[0].config;
  const started = performance.now();
  const prepared = await prepareDataset(config.data, { skipBad: values['skip-bad'] });
  const seconds = (performance.now() - started) / 1000;
  checkSplits(prepared, config);
  const data = loadDataset(prepared.dir, splitOptions(config));
  const names = data.names;
  const counts = (split: Split) => {
    const n = new Array<number>(data.classes).fill(0);
    for (const label of split.labels) n[label]++;
    return n;
  };
  const [train, validation, test] = [data.train, data.validation, data.test].map(counts);
  const classes = Array.from({ length: data.classes }, (_, c) => c).filter((c) => train[c] + validation[c] + test[c] > 0);
  const { mean, std } = prepared.trainingPixels;
  const asked = (key: 'mean' | 'std') => (config.data[key] === 'auto' ? `auto (${data[key].toFixed(4)})` : String(config.data[key]));
  const where = config.data.dataset === 'csv' ? ` (${config.data.train} and ${config.data.test})`
    : config.data.dir ? ` (${config.data.dir}${typeof config.data.test === 'number' ? `, data.test ${config.data.test} of each class held out for testing` : ''})` : '';
  console.log(`${file}: dataset ${config.data.dataset}${where}, ready in ${seconds.toFixed(1)} s as IDX files in ${prepared.dir}`);
  for (const note of prepared.notes) console.log(`note: ${note}`);
  console.log(`${data.height}×${data.width} images: ${data.train.count} training, ${data.validation.count} validation, ${data.test.count} test; ${classes.length} classes with images, ${data.classes} outputs of the network`);
  console.log(`pixels of the training file's images: mean ${mean.toFixed(4)}, std ${std.toFixed(4)} (0..1); the file normalises with data.mean ${asked('mean')}, data.std ${asked('std')}`);
  const rows = classes.map((c) => [names[c] !== String(c) ? `${c} ${names[c]}` : String(c), train[c], validation[c], test[c]]);
  print(await render({ headers: ['class', 'train', 'validation', 'test'], rows, numeric: new Set([1, 2, 3]) }, 'table'));
  if (values.out !== undefined) {
    writeSheet(values.out, data, classes, perClass);
    console.log(`${values.out}: ${perClass} training images of each class, a row per class, as the network gets them`);
  }
  return 0;
}

/** A PNG of the first `perClass` training images of each class, a row per class. */
function writeSheet(out: string, data: Dataset, classes: number[], perClass: number): void {
  const { height: h, width: w } = data;
  // Each row's images: the first of its class in the training split.
  const images = classes.map((c) => {
    const found: number[] = [];
    for (let i = 0; i < data.train.count && found.length < perClass; i++) if (data.train.labels[i] === c) found.push(data.train.indices[i]);
    return found;
  });
  writeImageGrid(out, {
    rows: classes.length,
    columns: perClass,
    height: h,
    width: w,
    zoom: ZOOM,
    gap: GAP,
    cell: (row, column) => {
      const index = images[row][column];
      return index === undefined ? null : (y, x) => data.train.pixels[index * h * w + y * w + x];
    },
  });
}
