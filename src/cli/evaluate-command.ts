/**
 * `sweep evaluate ID|best --data DATASET|DIR`: a trained model's accuracy and confusion matrix on
 * the test split of any dataset the config language names (mnist, mnist-full, fashion-mnist) or
 * a folder of MNIST-format IDX files, normalised with the trial's own mean and std.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../config/errors.js';
import type { Experiment } from '../config/experiment.types.js';
import { IDX_FILES, loadDataset } from '../data/dataset.js';
import { prepareDataset, splitOptions } from '../data/sources.js';
import { evaluationChunk } from '../backend/memory.js';
import { evaluate } from '../train/evaluate.js';
import { parse } from './args.js';
import { EVALUATE } from './commands.js';
import { pct } from '../view/format.js';
import { jsonText } from './json-text.js';
import { epochChoice, readTrainedModel, withModel, type TrainedModel } from '../model/trained-model.js';

const NAMED = ['mnist', 'mnist-full', 'fashion-mnist'] as const;

/**
 * The trial's data settings with another dataset: a name, a folder of IDX files, or a folder of
 * images in class folders (train/<class>/…, test/<class>/…), whose classes are taken by the
 * model's names (where it has a folder of each) and made into digits of the model's input size.
 */
function dataOf(value: string | undefined, data: Experiment['data'], model: TrainedModel): Experiment['data'] {
  if (value === undefined) throw new UserError(`sweep evaluate: --data is required: ${NAMED.join(', ')}, a folder of IDX files, or a folder of images in class folders`);
  // What only the trial's own kind of dataset reads (its files, its folder, its class list) is left behind:
  // this dataset's classes are its own (a folder's are taken by the trial's names, below).
  const { dir: _dir, train: _train, test: _test, label: _label, size: _size, classes: _classes, ...rest } = data;
  if ((NAMED as readonly string[]).includes(value)) return { ...rest, dataset: value as Experiment['data']['dataset'] };
  if (!existsSync(value) || !statSync(value).isDirectory()) throw new UserError(`--data: '${value}' is neither a dataset (${NAMED.join(', ')}) nor a folder (of IDX files, or of train/ and test/ class folders of images)`);
  if (IDX_FILES.flat().some((name) => existsSync(join(value, name)) || existsSync(join(value, `${name}.gz`)))) return { ...rest, dataset: 'idx', dir: resolve(value) };
  // One tree of class folders, as the trial's own may be, is split by the trial's data.test fraction.
  const hasTrain = existsSync(join(value, 'train'));
  const oneTree = typeof data.test === 'number' && !hasTrain;
  if (!hasTrain && !oneTree) {
    throw new UserError(`--data: ${value} holds neither IDX files (${IDX_FILES[1][0]}, …) nor a train/ folder; give a folder of IDX files, or of images in train/<class>/ and test/<class>/ folders`);
  }
  // Its class folders taken by the trial's names where it has them all; else its own, sorted (said by a note below).
  const named = model.classes.every((name) => existsSync(join(value, oneTree ? '' : 'train', name)));
  return { ...rest, dataset: 'folder', dir: resolve(value), ...(oneTree ? { test: data.test } : {}), ...(named ? { classes: model.classes as [string, string, ...string[]] } : {}), size: model.checkpoint.inputSize };
}

export async function evaluateCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, EVALUATE);
  if (positionals.length !== 1) throw new UserError('sweep evaluate: expected one trial id (or best); e.g. sweep evaluate best --data fashion-mnist');
  const model = readTrainedModel(values.db!, positionals[0], { sweep: values.sweep, epoch: epochChoice(values.epoch) });
  for (const note of model.notes) console.error(`note: ${note}`);
  const config: Experiment = { ...model.trial.config, data: dataOf(values.data, model.trial.config.data, model) };
  const { dir } = await prepareDataset(config.data);
  // Normalised as the model's training images were, whatever this dataset's own statistics.
  const data = loadDataset(dir, { ...splitOptions(config), ...model.normalisation });
  const result = await withModel(model, data, (net) => {
    // A model of the ten digits asked about a dataset of 47 classes (or the other way) has no answer to give.
    if (net.classes !== data.classes) throw new UserError(`--data: the trial's model tells ${net.classes} classes apart, the labels of ${values.data} make ${data.classes}; evaluate it on a dataset of its own classes`);
    return evaluate(net, data, data.test, evaluationChunk(config.model, data.height), true);
  });
  // Counted by label: where this dataset names its classes otherwise than the trial, its label n is still the trial's class n.
  if (data.names.some((name, c) => name !== model.classes[c])) {
    const few = (names: string[]) => `${names.slice(0, 4).join(', ')}${names.length > 4 ? ', …' : ''}`;
    console.error(`note: the trial's classes are ${few(model.classes)}; the labels of ${values.data} name ${few(data.names)}: each label n is counted as the trial's class n`);
  }
  const confusion = result.confusion!;
  const perClass = confusion.map((row, c) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n ? row[c] / n : null;
  });
  const name = config.data.dir ?? config.data.dataset;
  if (values.json) {
    console.log(jsonText({ trial: model.trial.id, sweep: model.trial.sweep, epoch: model.epoch, data: name, images: data.test.count, accuracy: result.acc, loss: result.loss, classes: model.classes, data_classes: data.names, confusion, per_class: perClass }));
    return 0;
  }
  console.log(`trial ${model.trial.id} of sweep ${model.trial.sweep}, epoch ${model.epoch} (its ${model.choice}), on the test split of ${name}: ${data.test.count.toLocaleString('en')} images`);
  console.log(`accuracy ${pct(result.acc)}  loss ${result.loss.toFixed(4)}\n`);
  const width = Math.max(5, ...confusion.flat().map((v) => String(v).length + 1));
  const cell = (v: string | number) => String(v).padStart(width);
  // Rows by number and name (where the classes have names); columns by number, as narrow as the counts.
  const named = model.classes.some((n, c) => n !== String(c));
  const digits = String(model.classes.length - 1).length;
  const rowWidth = Math.max(width, ...model.classes.map((n) => digits + n.length + 2));
  const rowName = (c: number) => (named ? `${String(c).padStart(digits)} ${model.classes[c]}`.padEnd(rowWidth) : String(c).padStart(rowWidth));
  console.log('confusion matrix (rows: actual class, columns: predicted)');
  console.log(`${''.padStart(rowWidth)}${confusion.map((_, c) => cell(c)).join('')}  accuracy`);
  confusion.forEach((row, c) => console.log(`${rowName(c)}${row.map(cell).join('')}  ${(perClass[c] === null ? '—' : pct(perClass[c])).padStart(8)}`));
  return 0;
}
