/**
 * dataset: csv. Images in CSV files as Kaggle's Digit Recognizer writes them: a header row, a
 * label column (the first, or `data.label` by name) and one column per pixel, row-major, whole
 * numbers 0 to 255. Parsing 42,000 rows of 785 numbers takes seconds, so the two files are
 * converted once into the four IDX files of a folder in the cache, named by the files'
 * checksums (the same files prepare once wherever they lie; an edited file prepares afresh),
 * labels written last, so that a folder with all four files is whole. Trials only read those.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../config/errors.js';
import type { Experiment } from '../config/experiment.types.js';
import { fileProblem } from '../util/path-problem.js';
import { cacheDir } from './cache-dir.js';
import { CLASSES, IDX_FILES } from './dataset.js';
import { fileChecksum } from './file-checksums.js';
import { writeDatasetFiles, type SplitBytes } from './write-dataset.js';

/** The version of the conversion: a new one prepares every CSV dataset afresh. */
const FORMAT = 1;

type CsvData = Experiment['data'] & { train: string; test: string };

/** The cache folder of a CSV dataset's IDX files: named by both files' checksums and the label column. */
export function csvDatasetDir(data: Experiment['data']): string {
  const { train, test } = data as CsvData;
  for (const file of [train, test]) {
    const problem = fileProblem(file);
    if (problem) throw new UserError({ file, message: `${problem} (data.${file === train ? 'train' : 'test'} of dataset csv); check the path, relative to the experiment file` });
  }
  const key = createHash('sha256').update(JSON.stringify([FORMAT, fileChecksum(train), fileChecksum(test), data.label ?? null])).digest('hex').slice(0, 16);
  return join(cacheDir(), 'csv', key);
}

/** Ensures the IDX files of a CSV dataset are in the cache; returns their folder. */
export function prepareCsv(data: Experiment['data']): string {
  const dir = csvDatasetDir(data);
  if (IDX_FILES.every(([images, labels]) => existsSync(join(dir, images)) && existsSync(join(dir, labels)))) return dir;
  const { train: trainFile, test: testFile } = data as CsvData;
  const train = readCsv(trainFile, data.label);
  const test = readCsv(testFile, data.label);
  if (test.side !== train.side) throw new UserError({ file: testFile, line: 1, message: `images are ${test.side}x${test.side}, the training images (${trainFile}) ${train.side}x${train.side}; both files need the same pixel columns` });
  writeDatasetFiles(dir, train, test);
  return dir;
}

/** A whole number 0..255 written in decimal (spaces around allowed), or -1. */
function byteOf(text: string): number {
  const t = text.trim();
  if (!/^\d{1,3}$/.test(t)) return -1;
  const v = Number(t);
  return v <= 255 ? v : -1;
}

/** The images of a CSV file, checked row by row: a mistake is one line naming the file and its line. */
export function readCsv(file: string, labelName: string | undefined): SplitBytes {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const header = lines[0].replace(/\r$/, '').split(',').map((h) => h.trim().replace(/^"(.*)"$/, '$1'));
  const at = (line: number, message: string) => new UserError({ file, line, message });
  if (header.length < 2 || header.every((h) => h === '')) throw at(1, 'expected a header row (label,pixel0,pixel1,...): a label column and one column per pixel');
  // A first row of numbers is an image, not a header: the columns then have no names.
  if (header.every((h) => /^\d+$/.test(h))) throw at(1, `expected a header row naming the columns (label,pixel0,...), found ${header.length} numbers; add one`);
  const labelColumn = labelName === undefined ? 0 : header.indexOf(labelName);
  if (labelColumn < 0) throw at(1, `no column named '${labelName}' (the header has ${header.slice(0, 4).join(', ')}${header.length > 4 ? ', ...' : ''}); set data.label to the label column's name`);
  const pixelCount = header.length - 1;
  const side = Math.round(Math.sqrt(pixelCount));
  if (side * side !== pixelCount || side < 12) throw at(1, `${pixelCount} pixel columns are not a square image of at least 12x12 (784 make 28x28)`);
  // Rows that are blank (the last line's newline) hold no image.
  const rows: number[] = [];
  for (let i = 1; i < lines.length; i++) if (lines[i].trim() !== '') rows.push(i);
  if (rows.length === 0) throw at(1, 'holds no images (a header and no rows); a dataset needs training and test images');
  const pixels = new Uint8Array(rows.length * pixelCount);
  const labels = new Uint8Array(rows.length);
  rows.forEach((i, n) => {
    const fields = lines[i].replace(/\r$/, '').split(',');
    if (fields.length !== header.length) throw at(i + 1, `${fields.length} values; the header has ${header.length} columns (a label and ${pixelCount} pixels)`);
    let p = n * pixelCount;
    for (let c = 0; c < fields.length; c++) {
      const v = byteOf(fields[c]);
      if (c === labelColumn) {
        if (v < 0 || v >= CLASSES) throw at(i + 1, `label '${fields[c].trim()}' is not a class number from 0 to ${CLASSES - 1} (LeNet-5 here classifies ${CLASSES} classes)`);
        labels[n] = v;
      } else {
        if (v < 0) throw at(i + 1, `${header[c] || `column ${c + 1}`} is '${fields[c].trim()}': expected a whole number from 0 to 255`);
        pixels[p++] = v;
      }
    }
  });
  return { pixels, labels, count: rows.length, side };
}
