/**
 * dataset: folder. Images in torchvision's ImageFolder layout: `dir/train/<class>/*.png|jpg` and
 * `dir/test/<class>/…`. The classes are the training folder's subfolders in sorted order, as
 * torchvision sorts them (label 0 is the first name), or those `data.classes` lists, in its
 * order; their names are kept with the IDX files (class-names.ts), and a class's images are those in its
 * folder and the folders under it, as torchvision walks them; the test folder's subfolders must
 * be among them. Each image is made into the network's input as `sweep predict` makes one (ink light on
 * black, fitted and centred: predict/digit-file.ts), so that a model trained here and the images
 * later given to it are made alike. Decoding thousands of images takes seconds, so it is done
 * once into the four IDX files of a cache folder, named by what every image file is (its path
 * under dir, size, modification and change times, inode: as git's index and file-checksums.ts
 * tell a file unchanged without reading it), labels written last.
 */
import { createHash } from 'node:crypto';
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { UserError } from '../config/errors.js';
import type { Experiment } from '../config/experiment.types.js';
import { digitFromFile } from '../predict/digit-file.js';
import { folderImages } from '../predict/folder-images.js';
import { cacheDir } from './cache-dir.js';
import { MOST_CLASSES } from './class-names.js';
import { datasetWritten, writeDatasetFiles, type SplitBytes } from './write-dataset.js';

/** The version of the conversion: a new one prepares every folder dataset afresh (2: class names kept). */
const FORMAT = 2;

/** The side of the images made (LeNet-5's 28×28 input). */
const SIDE = 28;

const SPLITS = ['train', 'test'] as const;

interface FolderSplit {
  /** The class of each subfolder, by name, in sorted order; its images in name order. */
  classes: { name: string; files: string[] }[];
}

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

/** A split's class folders and their images; a split with none, or a class with no image, is one line naming it. */
function listSplit(dir: string, split: (typeof SPLITS)[number]): FolderSplit {
  const root = join(dir, split);
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError({ file: root, message: `no such folder: dataset folder wants ${split}/ with a subfolder of images per class (${split}/0/…, ${split}/1/…)` });
    throw new UserError({ file: root, message: `cannot read it (${code ?? (err as Error).message})` });
  }
  const names = entries.filter((e) => !hidden(e.name) && isFolder(join(root, e.name), e)).map((e) => e.name).sort();
  const loose = entries.filter((e) => e.isFile()).length;
  if (names.length === 0) throw new UserError({ file: root, message: `holds no class folders${loose ? ` (${loose} files lie in it directly)` : ''}; put each class's images in a subfolder named after it (${split}/0/…, ${split}/1/…)` });
  const classes = names.map((name) => {
    const files = imagesUnder(join(root, name), new Set());
    if (files.length === 0) throw new UserError({ file: join(root, name), message: 'holds no images (.png, .jpg or .jpeg); add some, or remove the folder' });
    return { name, files };
  });
  return { classes };
}

/**
 * The classes and images of a folder dataset, checked: the classes are the training folder's, or
 * those of them `chosen` names (data.classes), in its order; the split's classes come in label order.
 */
function listDataset(dir: string, chosen: readonly string[] | undefined): { train: FolderSplit; test: FolderSplit } {
  let [train, test] = SPLITS.map((split) => listSplit(dir, split));
  if (chosen) {
    const found = train.classes.map((c) => c.name);
    const missing = chosen.find((name) => !found.includes(name));
    if (missing !== undefined) throw new UserError({ file: join(dir, 'train'), message: `has no class folder '${missing}' that data.classes names (its classes: ${found.join(', ')}); name the folders as they are, or add it` });
    const pick = (split: FolderSplit) => ({ classes: chosen.flatMap((name) => split.classes.filter((c) => c.name === name)) });
    [train, test] = [pick(train), pick(test)];
  }
  const names = train.classes.map((c) => c.name);
  if (names.length < 2) throw new UserError({ file: join(dir, 'train'), message: `holds one class (${names[0]}); a classifier needs two or more class folders` });
  if (names.length > MOST_CLASSES) throw new UserError({ file: join(dir, 'train'), message: `holds ${names.length} class folders; at most ${MOST_CLASSES} classes are told apart` });
  for (const c of test.classes) {
    if (!names.includes(c.name)) throw new UserError({ file: join(dir, 'test', c.name), message: `a class the training folder has not (its classes: ${names.join(', ')}); name it as there, or remove it` });
  }
  return { train, test };
}

/** The cache folder of a folder dataset's IDX files: named by every image file's path, size, times and inode. */
export function imageFolderDatasetDir(data: Experiment['data']): string {
  return cacheFolderOf(data.dir!, listDataset(data.dir!, data.classes));
}

/** The cache folder of the images `listing` found under `dir`, in its classes' order. */
function cacheFolderOf(dir: string, { train, test }: { train: FolderSplit; test: FolderSplit }): string {
  const hash = createHash('sha256').update(JSON.stringify([FORMAT, SIDE, train.classes.map((c) => c.name)]));
  for (const split of [train, test]) {
    for (const c of split.classes) {
      for (const file of c.files) {
        const s = statSync(file);
        hash.update(`${relative(dir, file)}\0${s.size}\0${s.mtimeMs}\0${s.ctimeMs}\0${s.ino}\n`);
      }
    }
  }
  return join(cacheDir(), 'folder', hash.digest('hex').slice(0, 16));
}

/** Ensures the IDX files of a folder dataset are in the cache; returns their folder. */
export function prepareImageFolder(data: Experiment['data']): string {
  // Listed once: what names the cache folder is what is converted into it.
  const { train, test } = listDataset(data.dir!, data.classes);
  const cached = cacheFolderOf(data.dir!, { train, test });
  if (datasetWritten(cached)) return cached;
  const names = train.classes.map((c) => c.name);
  writeDatasetFiles(cached, splitBytes(train, names), splitBytes(test, names), names);
  return cached;
}

/** A split's images made into digits, in class order, with their labels (the class's place among `names`). */
function splitBytes(split: FolderSplit, names: string[]): SplitBytes {
  const count = split.classes.reduce((n, c) => n + c.files.length, 0);
  const pixels = new Uint8Array(count * SIDE * SIDE);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const c of split.classes) {
    const label = names.indexOf(c.name);
    for (const file of c.files) {
      // A blank image is an image of nothing (an empty cell of a form is a class too).
      const digit = digitFromFile(file, SIDE, { blank: 'empty' });
      for (let p = 0; p < digit.length; p++) pixels[n * SIDE * SIDE + p] = Math.round(digit[p]);
      labels[n++] = label;
    }
  }
  return { pixels, labels, count, side: SIDE };
}
