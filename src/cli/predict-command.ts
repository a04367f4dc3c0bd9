/**
 * `sweep predict ID|best IMAGE...`: what a trained model says of images of digits. Each image
 * (PNG or JPEG, of any size and colour up to 50 megapixels; a folder stands for the images in
 * it, links to images included) is prepared as MNIST's digits were (predict/prepare.ts) and
 * normalised as the trial's images were (its mean and std, the numbers its record keeps); the K
 * most likely classes (--top K, 3 by default) are printed by name with their probabilities, or
 * with --json an array of { file, class, name, probability, top: [{ class, name, probability }] }
 * (class: the output's number; name: the class's name, as the dataset names it). Every image is
 * read and checked before any is predicted: one bad file is one line, exit 2, and nothing else printed.
 */
import { lstatSync, statSync } from 'node:fs';
import { tensor4d, tidy } from '../backend/tfjs.js';
import { UserError } from '../config/errors.js';
import { pathProblem } from '../util/path-problem.js';
import { folderImages } from '../predict/folder-images.js';
import { digitFromFile } from '../predict/digit-file.js';
import { parse, positiveInt } from './args.js';
import { PREDICT } from './commands.js';
import { jsonText } from './json-text.js';
import { epochChoice, readTrainedModel, withModel } from '../model/trained-model.js';
import { maxOf } from '../util/extremes.js';

/** Images per forward pass: memory stays small however many files are given. */
const CHUNK = 1000;
/** Classes printed per image when --top is not given. */
const TOP = 3;

interface Likely {
  class: number;
  name: string;
  probability: number;
}

export interface Prediction extends Likely {
  file: string;
  top: Likely[];
}

/**
 * The files an argument names: itself, or a folder's images in name order (folder-images.ts),
 * with a note of what the folder held besides, said once every file has been checked.
 */
function imageFiles(path: string, notes: string[]): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError({ file: path, message: code === 'ENOENT' ? (lstatOrNull(path) ? 'a link to nothing (its target is gone)' : 'no such file or folder') : pathProblem(err) });
  }
  if (stat.isDirectory()) {
    const { files, skipped } = folderImages(path);
    if (!files.length) throw new UserError({ file: path, message: `the folder holds no images (.png, .jpg, .jpeg)${skipped ? `; ${skipped}` : ''}` });
    if (skipped) notes.push(`${path}: ${skipped}`);
    return files;
  }
  // A FIFO or a device would be read until it ends, which it may never do.
  if (!stat.isFile()) throw new UserError({ file: path, message: 'not a regular file; give a PNG or JPEG image' });
  return [path];
}

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function softmax(logits: Float32Array | number[]): number[] {
  const top = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

export async function predictCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, PREDICT);
  if (positionals.length < 2) throw new UserError('sweep predict: expected a trial id (or best) and at least one image; e.g. sweep predict best digit.png');
  const [ref, ...paths] = positionals;
  const model = readTrainedModel(values.db!, ref, { sweep: values.sweep, epoch: epochChoice(values.epoch) });
  for (const note of model.notes) console.error(`note: ${note}`);
  const classes = model.classes;
  // At most every class: --top 5 of a model of two classes prints both, as the default does.
  const topK = Math.min(positiveInt(values.top, 'top') ?? TOP, classes.length);
  const side = model.checkpoint.inputSize;
  const { mean, std } = model.normalisation;
  // The dataset's own arithmetic (data/dataset.ts gather), so a digit of it predicts as it did there.
  const scale = 1 / (255 * std);
  const shift = mean / std;
  const notes: string[] = [];
  const files = paths.flatMap((path) => imageFiles(path, notes));
  const inputs = files.map((file) => {
    return Float32Array.from(digitFromFile(file, side), (v) => v * scale - shift);
  });
  for (const note of notes) console.error(`note: ${note}`);

  const predictions: Prediction[] = [];
  await withModel(model, null, async (net) => {
    for (let start = 0; start < inputs.length; start += CHUNK) {
      const batch = inputs.slice(start, start + CHUNK);
      const flat = new Float32Array(batch.length * side * side);
      batch.forEach((x, i) => flat.set(x, i * side * side));
      const logits = tidy(() => net.forward(tensor4d(flat, [batch.length, side, side, 1]), false));
      const values = (await logits.data()) as Float32Array;
      logits.dispose();
      batch.forEach((_, i) => {
        const p = softmax(values.subarray(i * net.classes, (i + 1) * net.classes));
        const top = p.map((probability, c) => ({ class: c, name: classes[c], probability })).sort((a, b) => b.probability - a.probability).slice(0, topK);
        predictions.push({ file: files[start + i], ...top[0], top });
      });
    }
  });

  if (values.json) {
    console.log(jsonText(predictions));
    return 0;
  }
  const width = maxOf(predictions.map((p) => p.file.length));
  const nameWidth = maxOf(predictions.map((p) => p.name.length));
  const percent = (v: number) => `${(100 * v).toFixed(1)}%`;
  for (const p of predictions) {
    const rest = p.top.slice(1).map((t) => `${t.name} ${percent(t.probability)}`).join(', ');
    console.log(`${p.file.padEnd(width)}  ${p.name.padEnd(nameWidth)}  ${percent(p.probability).padStart(6)}${rest ? `   (then ${rest})` : ''}`);
  }
  return 0;
}
