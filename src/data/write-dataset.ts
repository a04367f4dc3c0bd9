/**
 * Writes a prepared dataset's four IDX files, and its class names where it has them
 * (class-names.ts), into a cache folder (the embedded digits, a CSV or folder dataset): all or
 * nothing. Labels are written last, so a reader that finds all four files knows the images and
 * names were whole before them; a failure (a full disk) removes what was written and the folders
 * made for it, and the next run starts afresh.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { diskFull, isDiskFull } from '../util/disk-full.js';
import { makeFolder, unmakeFolders } from '../util/make-folder.js';
import { datasetFolderFull } from './cache-dir.js';
import { CLASS_NAMES_FILE } from './class-names.js';
import { writeFileAtomic } from '../util/write-atomic.js';
import { IDX_FILES } from './dataset.js';
import { writeIdx } from './idx.js';

/** Whether a prepared dataset's four files are in `dir`: whole, since the labels are written last. */
export const datasetWritten = (dir: string) => IDX_FILES.every(([images, labels]) => existsSync(join(dir, images)) && existsSync(join(dir, labels)));

/** One split's images (count × side × side bytes, row-major) and labels. */
export interface SplitBytes {
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
  side: number;
}

/**
 * `names`: the classes' names, label 0's first, where the data gave them. `made`: the folders
 * made for it already (removed too on a failure); by default, dir is made here.
 */
export function writeDatasetFiles(dir: string, train: SplitBytes, test: SplitBytes, names: readonly string[] | null, made: string[] = makeFolder(dir)): void {
  const files: [string, number[], Uint8Array][] = [
    [IDX_FILES[0][0], [train.count, train.side, train.side], train.pixels],
    [IDX_FILES[1][0], [test.count, test.side, test.side], test.pixels],
    [IDX_FILES[0][1], [train.count], train.labels],
    [IDX_FILES[1][1], [test.count], test.labels],
  ];
  const written: string[] = [];
  try {
    if (names) {
      writeFileAtomic(join(dir, CLASS_NAMES_FILE), Buffer.from(`${JSON.stringify(names)}\n`));
      written.push(join(dir, CLASS_NAMES_FILE));
    }
    for (const [name, dims, bytes] of files) {
      writeIdx(join(dir, name), dims, bytes);
      written.push(join(dir, name));
    }
  } catch (err) {
    for (const path of written) rmSync(path, { force: true });
    unmakeFolders(made);
    if (isDiskFull(err)) throw diskFull(datasetFolderFull(dir, files.reduce((n, [, , bytes]) => n + bytes.length, 0)));
    throw err;
  }
}
