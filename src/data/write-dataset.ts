/**
 * Writes a prepared dataset's four IDX files into a cache folder (the embedded digits, a CSV
 * dataset, a folder dataset), with the small files kept beside them (its class names, the images
 * a folder dataset left out): all or nothing. Labels are written last, so a reader that finds all
 * four files knows the rest was whole before them; a failure (a full disk) removes what was
 * written and the folders made for it, and the next run starts afresh.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { diskFull, isDiskFull } from '../util/disk-full.js';
import { makeFolder, unmakeFolders } from '../util/make-folder.js';
import { datasetFolderFull } from './cache-dir.js';
import { IDX_FILES } from './dataset.js';
import { writeIdx } from './idx.js';
import { writeFileAtomic } from '../util/write-atomic.js';

/** Whether a prepared dataset's four files are in `dir`: whole, since the labels are written last. */
export const datasetWritten = (dir: string) => IDX_FILES.every(([images, labels]) => existsSync(join(dir, images)) && existsSync(join(dir, labels)));

/** One split's images (count × side × side bytes, row-major) and labels. */
export interface SplitBytes {
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
  side: number;
}

/** A small text file kept beside the IDX files: the class names (class-names.ts), what preparing them had to say (a folder dataset's images left out). */
export interface SideFile {
  name: string;
  text: string;
}

/**
 * `sideFiles` are written first, so that they are there whenever the labels are. `made`: the
 * folders made for it already (removed too on a failure); by default, dir is made here.
 */
export function writeDatasetFiles(dir: string, train: SplitBytes, test: SplitBytes, sideFiles: SideFile[] = [], made: string[] = makeFolder(dir)): void {
  const files: [string, number[], Uint8Array][] = [
    [IDX_FILES[0][0], [train.count, train.side, train.side], train.pixels],
    [IDX_FILES[1][0], [test.count, test.side, test.side], test.pixels],
    [IDX_FILES[0][1], [train.count], train.labels],
    [IDX_FILES[1][1], [test.count], test.labels],
  ];
  const written: string[] = [];
  try {
    for (const { name, text } of sideFiles) {
      writeFileAtomic(join(dir, name), Buffer.from(text));
      written.push(join(dir, name));
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
