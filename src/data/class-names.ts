/**
 * The names of a dataset's classes, label 0 first: what the confusion matrix, the report,
 * predict, evaluate and the exports call them. A dataset converted into the cache from data that
 * names its classes (a folder's class folders, a CSV's word labels, or `data.classes`) keeps its
 * names in a file beside its IDX files, written before the labels (write-dataset.ts), so a worker
 * reads them with the images; IDX files have no names, so theirs come from `data.classes`,
 * Fashion-MNIST's published ones, or the class numbers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IdxError } from './idx.js';

/** The names file of a prepared dataset: a JSON array of strings, label 0's first. */
export const CLASS_NAMES_FILE = 'classes.json';

/** The least classes LeNet-5's last layer tells apart when a dataset names none: MNIST's ten digits. */
export const CLASSES = 10;

/** The most classes a dataset may have: its labels are bytes in IDX files. */
export const MOST_CLASSES = 256;

/** Fashion-MNIST's classes, as its authors name them (zalandoresearch/fashion-mnist's README). */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/**
 * The classes of unnamed data whose highest label is `top`: MNIST's ten at the least, so that a
 * digits dataset missing a digit in a small sample keeps the ten outputs it always had.
 */
export const classesOf = (top: number) => Math.max(CLASSES, top + 1);

/** The class numbers as names: 0, 1, … */
export const numberNames = (count: number) => Array.from({ length: count }, (_, c) => String(c));

/** Labels beyond the names given: a mistake in data.classes (or in the labels file, where the user gave it). */
export class TooFewNames extends IdxError {
  constructor(path: string, readonly reason: string) {
    super(path, reason);
  }
}

/** The names a prepared dataset's folder keeps, or null where it keeps none (IDX files as given). */
export function readClassNamesFile(dir: string): string[] | null {
  const path = join(dir, CLASS_NAMES_FILE);
  if (!existsSync(path)) return null;
  const names: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new Error(`${path}: not a list of class names`);
  return names;
}

/**
 * A dataset's class names: its folder's names file, else those given (`data.classes`, or
 * Fashion-MNIST's), else the class numbers. `top` is the highest label of its files: a label
 * beyond the names given is refused, naming the labels file.
 */
export function classNamesOf(dir: string, given: readonly string[] | undefined, top: number, labelsFile: string): string[] {
  const names = readClassNamesFile(dir) ?? (given ? [...given] : numberNames(classesOf(top)));
  if (top >= names.length) {
    // Labels 1 to N (EMNIST letters) with N names: the commonest slip.
    const oneBased = top === names.length ? '; labels count from 0, so labels 1 to N need a first name for 0 too' : '';
    throw new TooFewNames(labelsFile, `label ${top} found, but the dataset's class names are ${names.length} (labels 0 to ${names.length - 1}); give data.classes a name for every class${oneBased}`);
  }
  return names;
}

/** The names a trial's record keeps (sweep/provenance.ts), or null for a trial recorded before names were. */
export function recordedNames(provenance: unknown): string[] | null {
  const names = (provenance as { dataset?: { classes?: unknown } } | null)?.dataset?.classes;
  return Array.isArray(names) && names.every((n) => typeof n === 'string') ? names : null;
}

/** The names of a trained model's `count` classes: its record's, else the class numbers. */
export function namesOfRecord(provenance: unknown, count: number): string[] {
  const names = recordedNames(provenance);
  return names?.length === count ? names : numberNames(count);
}

/** The names file of a dataset converted into the cache, written beside its IDX files (write-dataset.ts). */
export const classNamesFile = (names: readonly string[]) => ({ name: CLASS_NAMES_FILE, text: `${JSON.stringify(names)}\n` });
