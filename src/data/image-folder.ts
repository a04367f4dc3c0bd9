/**
 * dataset: folder. Images in torchvision's ImageFolder layout: `dir/train/<class>/*.png|jpg` and
 * `dir/test/<class>/…`, or one tree `dir/<class>/…` that data.test's fraction splits into
 * training and test images (stratified-split.ts). The classes are the training folder's (or the
 * tree's) subfolders in sorted order, as torchvision sorts them (label 0 is the first name), or
 * those of them `data.classes` lists, in its order; their names are kept with the IDX files
 * (class-names.ts). A class's images are those in its folder and the folders under it, as torchvision walks them; the
 * test folder's subfolders must be among them. Each image is made into the network's input as `sweep predict` makes one (ink light on
 * black, fitted and centred: predict/digit-file.ts), data.size pixels square (28 by default), so that a model trained here and the images
 * later given to it are made alike. Decoding thousands of images takes seconds, so it is done
 * once into the four IDX files of a cache folder, named by what every image file is (its path
 * under dir, size, modification and change times, inode: as git's index and file-checksums.ts
 * tell a file unchanged without reading it) and by how they are split, labels written last.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { UserError } from '../config/errors.js';
import type { Experiment } from '../config/experiment.types.js';
import { UndecodableImage } from '../predict/decode.js';
import { digitFromFile } from '../predict/digit-file.js';
import { folderImages } from '../predict/folder-images.js';
import { cacheDir } from './cache-dir.js';
import { classNamesFile, MOST_CLASSES } from './class-names.js';
import { stratifiedSplit } from './stratified-split.js';
import { datasetWritten, writeDatasetFiles, type SplitBytes } from './write-dataset.js';

/** The version of the conversion: a new one prepares every folder dataset afresh (2: class names kept). */
const FORMAT = 2;

/** The side of the images made when data.size gives none (LeNet-5's 28×28 input). */
const DEFAULT_SIDE = 28;

/** The side of the digits a folder dataset's images are made into. */
export const sideOf = (data: Experiment['data']) => data.size ?? DEFAULT_SIDE;

/** A class folder: its name, and its images (and its subfolders'), in path order. */
interface FolderClass {
  name: string;
  files: string[];
}

/**
 * What a folder dataset's dir holds: train/ and test/, each a folder of class folders; or one
 * tree of class folders, which `fraction` of each class's images is held out of for testing.
 */
type Listing =
  | { layout: 'split'; train: FolderClass[]; test: FolderClass[] }
  | { layout: 'tree'; classes: FolderClass[]; fraction: number; seed: number };

/** Hidden entries (.DS_Store, macOS's ._name.png, .ipynb_checkpoints) are no images and no classes. */
const hidden = (name: string) => name.startsWith('.');

const isFolder = (path: string, entry: Dirent) => entry.isDirectory() || (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isDirectory() === true);

/**
 * A class folder's images and its subfolders' (as torchvision walks them), in path order. A link
 * back to a folder already walked (a loop) is walked once.
 */
function imagesUnder(folder: string, walked: Set<string>): string[] {
  const real = realpathSync(folder);
  if (walked.has(real)) return [];
  walked.add(real);
  const here = folderImages(folder).files.filter((file) => !hidden(basename(file)));
  const subfolders = readdirSync(folder, { withFileTypes: true })
    .filter((e) => !hidden(e.name) && isFolder(join(folder, e.name), e))
    .map((e) => e.name)
    .sort();
  return [...here, ...subfolders.flatMap((name) => imagesUnder(join(folder, name), walked))];
}

/**
 * The class folders in `root` and their images; none, or a class with no image, is one line
 * naming it. `shown`: how messages write root's place in the dataset ('train/', 'test/', or ''
 * for one tree, whose class folders lie in dir itself).
 */
function listClasses(root: string, shown: string): FolderClass[] {
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError({ file: root, message: `no such folder: dataset folder wants ${shown} with a subfolder of images per class (${shown}0/…, ${shown}1/…)` });
    throw new UserError({ file: root, message: `cannot read it (${code ?? (err as Error).message})` });
  }
  const names = entries.filter((e) => !hidden(e.name) && isFolder(join(root, e.name), e)).map((e) => e.name).sort();
  const loose = entries.filter((e) => e.isFile()).length;
  if (names.length === 0) throw new UserError({ file: root, message: `holds no class folders${loose ? ` (${loose} files lie in it directly)` : ''}; put each class's images in a subfolder named after it (${shown}0/…, ${shown}1/…)` });
  return names.map((name) => {
    const files = imagesUnder(join(root, name), new Set());
    if (files.length === 0) throw new UserError({ file: join(root, name), message: 'holds no images (.png, .jpg or .jpeg); add some, or remove the folder' });
    return { name, files };
  });
}

/**
 * The classes data.classes chooses, in its order (all of them, sorted, when it names none); one
 * it names that `root` lacks is one line listing those there are.
 */
function chosen(classes: FolderClass[], names: readonly string[] | undefined, root: string): FolderClass[] {
  if (!names) return classes;
  const found = classes.map((c) => c.name);
  const missing = names.find((name) => !found.includes(name));
  if (missing !== undefined) throw new UserError({ file: root, message: `has no class folder '${missing}' that data.classes names (its classes: ${found.join(', ')}); name the folders as they are, or add it` });
  return names.map((name) => classes.find((c) => c.name === name)!);
}

/** The training classes are two to MOST_CLASSES; `root`: the folder that holds them, for the message. */
function checkClassCount(classes: FolderClass[], root: string): void {
  const names = classes.map((c) => c.name);
  if (names.length < 2) throw new UserError({ file: root, message: `holds one class (${names[0]}); a classifier needs two or more class folders` });
  if (names.length > MOST_CLASSES) throw new UserError({ file: root, message: `holds ${names.length} class folders; at most ${MOST_CLASSES} classes are told apart` });
}

const folderAt = (path: string) => statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;

/**
 * The classes and images of a folder dataset, checked: train/ and test/ (the classes are the
 * training folder's), or, where data.test gives a fraction, one tree of class folders in dir.
 * Which of the two dir holds and what the file says must agree: each mismatch is one line.
 */
function listDataset(data: Experiment['data']): Listing {
  const dir = data.dir!;
  const fraction = typeof data.test === 'number' ? data.test : undefined;
  const hasTrain = folderAt(join(dir, 'train'));
  if (fraction === undefined) {
    if (!hasTrain) {
      throw new UserError({ file: join(dir, 'train'), message: 'no train/ folder: give dir/train/<class>/… and dir/test/<class>/…, or put the class folders in dir and set data.test to the fraction held out for testing, e.g. 0.2' });
    }
    const train = chosen(listClasses(join(dir, 'train'), 'train/'), data.classes, join(dir, 'train'));
    // A test class the list leaves out is left out; one the training folder lacks is refused below.
    const test = listClasses(join(dir, 'test'), 'test/').filter((c) => !data.classes || data.classes.includes(c.name));
    checkClassCount(train, join(dir, 'train'));
    const names = train.map((c) => c.name);
    for (const c of test) {
      if (!names.includes(c.name)) throw new UserError({ file: join(dir, 'test', c.name), message: `a class the training folder has not (its classes: ${names.join(', ')}); name it as there, or remove it` });
    }
    return { layout: 'split', train, test };
  }
  // A fraction splits one tree: train/ and test/ (split already) or a lone test/ would be taken for classes.
  if (hasTrain) {
    throw new UserError({ file: join(dir, 'train'), message: `dir holds train/, so its test images are test/'s: data.test ${fraction} holds out a fraction only of class folders that lie in dir itself; remove data.test` });
  }
  if (folderAt(join(dir, 'test'))) {
    throw new UserError({ file: join(dir, 'test'), message: `a test/ folder without train/ beside it: give train/ too (and remove data.test), or put every class folder in dir, with no test/, for data.test ${fraction} to hold out` });
  }
  const classes = chosen(listClasses(dir, ''), data.classes, dir);
  checkClassCount(classes, dir);
  return { layout: 'tree', classes, fraction, seed: data.split_seed };
}

/** The classes of a listing, label 0 first. */
const trainingClasses = (listing: Listing) => (listing.layout === 'split' ? listing.train : listing.classes);

/**
 * How a folder dataset is prepared, besides what its config says. skipBad (--skip-bad): an image
 * that does not decode is left out, and named, instead of refused.
 */
export interface FolderOptions {
  skipBad: boolean;
}

/**
 * The cache folder of a folder dataset's IDX files: named by every image file's path, size, times
 * and inode, by how they are split, and by whether images that do not decode were left out (a run
 * without --skip-bad refuses them again rather than train on what a run with it left).
 */
export function imageFolderDatasetDir(data: Experiment['data'], options: FolderOptions): string {
  return cacheFolderOf(data, listDataset(data), options);
}

/** The cache folder of the images `listing` found under `dir`. */
function cacheFolderOf(data: Experiment['data'], listing: Listing, { skipBad }: FolderOptions): string {
  const dir = data.dir!;
  const split = listing.layout === 'tree' ? { test: listing.fraction, split_seed: listing.seed } : null;
  const hash = createHash('sha256').update(JSON.stringify([FORMAT, sideOf(data), trainingClasses(listing).map((c) => c.name), split, skipBad]));
  const classes = listing.layout === 'split' ? [...listing.train, ...listing.test] : listing.classes;
  for (const c of classes) {
    for (const file of c.files) {
      const s = statSync(file);
      hash.update(`${relative(dir, file)}\0${s.size}\0${s.mtimeMs}\0${s.ctimeMs}\0${s.ino}\n`);
    }
  }
  return join(cacheDir(), 'folder', hash.digest('hex').slice(0, 16));
}

/** The file beside a folder dataset's IDX files that names the images left out (--skip-bad), one path under dir a line. */
const SKIPPED_FILE = 'skipped.txt';

/** A prepared folder dataset: the folder of its IDX files, and the images left out (paths under dir), none without --skip-bad. */
export interface PreparedFolder {
  dir: string;
  skipped: string[];
  /** The images' own sizes (width×height) and how many had each, when they were made into digits now; empty when the cache had them. */
  sizes: Map<string, number>;
}

/** Ensures the IDX files of a folder dataset are in the cache; returns their folder and the images left out. */
export function prepareImageFolder(data: Experiment['data'], options: FolderOptions): PreparedFolder {
  // Listed once: what names the cache folder is what is converted into it.
  const listing = listDataset(data);
  const cached = cacheFolderOf(data, listing, options);
  if (datasetWritten(cached)) return { dir: cached, skipped: skippedIn(cached), sizes: new Map() };
  const names = trainingClasses(listing).map((c) => c.name);
  const skipped: string[] = [];
  const sizes = new Map<string, number>();
  // Images that do not decode are left out before the split: each class keeps a training image of those it has.
  const made = (classes: FolderClass[]) => classes.map((c) => ({ name: c.name, items: c.files.flatMap((file) => digitOf(file, sideOf(data), data.dir!, options, skipped, sizes)) }));
  // A class whose every image was left out would be an output the network never trains (or a test
  // class never tested): refused, as an empty class folder is.
  const trained = (classes: FolderClass[], root: string) => {
    const digits = made(classes);
    const empty = digits.findIndex((c) => c.items.length === 0);
    if (empty >= 0) throw new UserError({ file: join(root, digits[empty].name), message: `holds no image that decodes (its ${classes[empty].files.length} were left out by --skip-bad); add some, or remove the folder` });
    return digits;
  };
  let train, test;
  if (listing.layout === 'split') {
    [train, test] = [trained(listing.train, join(data.dir!, 'train')), trained(listing.test, join(data.dir!, 'test'))];
  } else {
    ({ train, test } = stratifiedSplit(trained(listing.classes, data.dir!), listing.fraction, listing.seed));
    const all = train.reduce((n, c) => n + c.items.length, 0) + test.reduce((n, c) => n + c.items.length, 0);
    if (test.every((c) => c.items.length === 0)) {
      throw new UserError({ file: data.dir!, message: `data.test ${listing.fraction} of each class's images holds out none of the ${all} images of its ${train.length} classes (each class keeps one to train on); raise data.test, or add images` });
    }
  }
  const sideFiles = [classNamesFile(names), ...(skipped.length ? [{ name: SKIPPED_FILE, text: `${skipped.join('\n')}\n` }] : [])];
  writeDatasetFiles(cached, splitBytes(train, names, sideOf(data)), splitBytes(test, names, sideOf(data)), sideFiles);
  return { dir: cached, skipped, sizes };
}

/** The images a prepared folder dataset left out, as its cache folder keeps them. */
function skippedIn(cached: string): string[] {
  const path = join(cached, SKIPPED_FILE);
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

/**
 * An image file made into a digit, a byte a pixel (as the IDX files hold it: a tree is held whole
 * before it is split); none for a file that does not decode under --skip-bad (its path under dir
 * added to `skipped`). Without it such a file is refused, saying how to go on.
 */
function digitOf(file: string, side: number, dir: string, { skipBad }: FolderOptions, skipped: string[], sizes: Map<string, number>): Uint8Array[] {
  let digit;
  try {
    // A blank image is an image of nothing (an empty cell of a form is a class too).
    digit = digitFromFile(file, side, { blank: 'empty', sized: (w, h) => sizes.set(`${w}x${h}`, (sizes.get(`${w}x${h}`) ?? 0) + 1) });
  } catch (err) {
    if (!(err instanceof UndecodableImage)) throw err;
    if (!skipBad) throw new UserError({ file, message: `${err.why}; replace or remove it, or give --skip-bad to leave out the images that do not decode` });
    skipped.push(relative(dir, file));
    return [];
  }
  const bytes = new Uint8Array(digit.length);
  for (let p = 0; p < digit.length; p++) bytes[p] = Math.round(digit[p]);
  return [bytes];
}

/** A split's digits, in class order, with their labels (the class's place among `names`). */
function splitBytes(classes: { name: string; items: Uint8Array[] }[], names: string[], side: number): SplitBytes {
  const count = classes.reduce((n, c) => n + c.items.length, 0);
  const pixels = new Uint8Array(count * side * side);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const c of classes) {
    const label = names.indexOf(c.name);
    for (const digit of c.items) {
      pixels.set(digit, n * side * side);
      labels[n++] = label;
    }
  }
  return { pixels, labels, count, side };
}
