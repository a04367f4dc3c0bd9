/**
 * dataset: folder. Images in torchvision's ImageFolder layout: `dir/train/<class>/*.png|jpg` and
 * `dir/test/<class>/…`. The classes are the training folder's subfolders in sorted order, as
 * torchvision sorts them (label 0 is the first name); the test folder's subfolders must be among
 * them. Each image is made into the network's input as `sweep predict` makes one (ink light on
 * black, fitted and centred: predict/digit-file.ts), so that a model trained here and the images
 * later given to it are made alike. Decoding thousands of images takes seconds, so it is done
 * once into the four IDX files of a cache folder, named by what every image file is (its path
 * under dir, size, modification and change times, inode: as git's index and file-checksums.ts
 * tell a file unchanged without reading it), labels written last.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UserError } from '../config/errors.js';
import type { Experiment } from '../config/experiment.types.js';
import { digitFromFile } from '../predict/digit-file.js';
import { folderImages } from '../predict/folder-images.js';
import { cacheDir } from './cache-dir.js';
import { CLASSES, IDX_FILES } from './dataset.js';
import { writeDatasetFiles, type SplitBytes } from './write-dataset.js';

/** The version of the conversion: a new one prepares every folder dataset afresh. */
const FORMAT = 1;

/** The side of the images made (LeNet-5's 28×28 input). */
const SIDE = 28;

const SPLITS = ['train', 'test'] as const;

interface FolderSplit {
  /** The class of each subfolder, by name, in sorted order; its images in name order. */
  classes: { name: string; files: string[] }[];
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
  // Hidden folders (.ipynb_checkpoints, .git) are no classes.
  const names = entries
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && statSync(join(root, e.name), { throwIfNoEntry: false })?.isDirectory())))
    .map((e) => e.name)
    .sort();
  const loose = entries.filter((e) => e.isFile()).length;
  if (names.length === 0) throw new UserError({ file: root, message: `holds no class folders${loose ? ` (${loose} files lie in it directly)` : ''}; put each class's images in a subfolder named after it (${split}/0/…, ${split}/1/…)` });
  const classes = names.map((name) => {
    const { files } = folderImages(join(root, name));
    if (files.length === 0) throw new UserError({ file: join(root, name), message: 'holds no images (.png, .jpg or .jpeg); add some, or remove the folder' });
    return { name, files };
  });
  return { classes };
}

/** The classes and images of a folder dataset, checked: the classes are the training folder's. */
function listDataset(dir: string): { train: FolderSplit; test: FolderSplit } {
  const [train, test] = SPLITS.map((split) => listSplit(dir, split));
  const names = train.classes.map((c) => c.name);
  if (names.length < 2) throw new UserError({ file: join(dir, 'train'), message: `holds one class (${names[0]}); a classifier needs two or more class folders` });
  if (names.length > CLASSES) throw new UserError({ file: join(dir, 'train'), message: `holds ${names.length} class folders; LeNet-5 here classifies at most ${CLASSES} classes for now` });
  for (const c of test.classes) {
    if (!names.includes(c.name)) throw new UserError({ file: join(dir, 'test', c.name), message: `a class the training folder has not (its classes: ${names.join(', ')}); name it as there, or remove it` });
  }
  return { train, test };
}

/** A folder dataset's class names, label 0 first (the training folder's subfolders, sorted; hidden ones are none). */
export function imageFolderClasses(dir: string): string[] {
  return listDataset(dir).train.classes.map((c) => c.name);
}

/** The cache folder of a folder dataset's IDX files: named by every image file's path, size, times and inode. */
export function imageFolderDatasetDir(data: Experiment['data']): string {
  const dir = data.dir!;
  const { train, test } = listDataset(dir);
  const hash = createHash('sha256').update(JSON.stringify([FORMAT, SIDE]));
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
  const cached = imageFolderDatasetDir(data);
  if (IDX_FILES.every(([images, labels]) => existsSync(join(cached, images)) && existsSync(join(cached, labels)))) return cached;
  const { train, test } = listDataset(data.dir!);
  const names = train.classes.map((c) => c.name);
  writeDatasetFiles(cached, splitBytes(train, names), splitBytes(test, names));
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
      const digit = digitFromFile(file, SIDE);
      for (let p = 0; p < digit.length; p++) pixels[n * SIDE * SIDE + p] = Math.round(digit[p]);
      labels[n++] = label;
    }
  }
  return { pixels, labels, count, side: SIDE };
}
