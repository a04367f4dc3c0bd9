/**
 * dataset: csv. Images in CSV files as Kaggle's Digit Recognizer writes them: a header row, a
 * label column (`data.label` by name, else the one named label, else the first) and one column
 * per pixel, row-major, whole numbers 0 to 255. Read a piece at a time: a file may be larger than
 * a string can hold. Parsing 42,000 rows of 785 numbers takes seconds, so the two files are
 * converted once into the four IDX files of a folder in the cache, named by the files'
 * checksums (the same files prepare once wherever they lie; an edited file prepares afresh),
 * labels written last, so that a folder with all four files is whole. Trials only read those.
 * Images are kept at their own size, or resized to data.size when it is given.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { join } from 'node:path';
import { UserError } from '../config/errors.js';
import type { Experiment } from '../config/experiment.types.js';
import { resample } from '../predict/prepare.js';
import { fileProblem } from '../util/path-problem.js';
import { cacheDir } from './cache-dir.js';
import { classNamesFile, MOST_CLASSES } from './class-names.js';
import { testBeyondTraining } from './dataset.js';
import { fileChecksum } from './file-checksums.js';
import { datasetWritten, writeDatasetFiles, type SplitBytes } from './write-dataset.js';

/** The version of the conversion: a new one prepares every CSV dataset afresh (2: labels may be words, names kept). */
const FORMAT = 2;

type CsvData = Experiment['data'] & { train: string; test: string };

/** The cache folder of a CSV dataset's IDX files: named by both files' checksums and the label column. */
export function csvDatasetDir(data: Experiment['data']): string {
  const { train, test } = data as CsvData;
  for (const file of [train, test]) {
    const problem = fileProblem(file);
    if (problem) throw new UserError({ file, message: `${problem} (data.${file === train ? 'train' : 'test'} of dataset csv); check the path, relative to the experiment file` });
  }
  const key = createHash('sha256').update(JSON.stringify([FORMAT, fileChecksum(train), fileChecksum(test), data.label ?? null, data.classes ?? null, data.size ?? null])).digest('hex').slice(0, 16);
  return join(cacheDir(), 'csv', key);
}

/** Ensures the IDX files of a CSV dataset are in the cache; returns their folder. */
export function prepareCsv(data: Experiment['data']): string {
  const dir = csvDatasetDir(data);
  if (datasetWritten(dir)) return dir;
  const { train: trainFile, test: testFile } = data as CsvData;
  const train = readCsv(trainFile, data.label);
  const test = readCsv(testFile, data.label);
  // One class only: most likely the wrong column read as the label (a pixel that is always 0).
  if (train.texts.length === 1) throw new UserError({ file: trainFile, message: `every one of its ${train.count} images has label ${train.texts[0]}: a classifier needs two or more classes; is that the label column? data.label names it` });
  if (test.side !== train.side) throw new UserError({ file: testFile, line: 1, message: `images are ${test.side}x${test.side}, the training images (${trainFile}) ${train.side}x${train.side}; both files need the same pixel columns` });
  const { names, labelOf } = classesOfCsv(train, test, data.classes);
  // Resized after the checks: their lines and columns are the files' own.
  const split = (images: CsvImages) => resized({ ...images, labels: labelsOf(images, labelOf) }, data.size);
  writeDatasetFiles(dir, split(train), split(test), names ? [classNamesFile(names)] : []);
  return dir;
}

/** A CSV file's images, and its labels as the texts it writes them in. */
export interface CsvImages extends Omit<SplitBytes, 'labels'> {
  file: string;
  /** Each different label text, in the order first met. */
  texts: string[];
  /** Each image's label, as its place in `texts`, and the line it is on. */
  textOf: Uint32Array;
  lineOf: Uint32Array;
}

const isClassNumber = (text: string) => /^\d{1,3}$/.test(text) && Number(text) < MOST_CLASSES;

/**
 * What the labels of a CSV dataset mean. Each label is looked up among data.classes by its text
 * (the list then orders the classes, and a label not in it is refused); numbered labels not
 * listed by their text are places in the list (0 names the first); without a list, numbered
 * labels are their numbers (unnamed) and word labels are classes named by them, in sorted order.
 * A mistake is said at the file and line of the first image it is found on.
 */
export function classesOfCsv(train: CsvImages, test: CsvImages, classes: readonly string[] | undefined): { names: string[] | null; labelOf: (text: string) => number } {
  /** Refuses the first image whose label is `wrong`, if any, at its file and line. */
  const check = (wrong: (text: string) => boolean, message: (text: string) => string) => {
    for (const images of [train, test]) {
      for (let n = 0; n < images.count; n++) {
        const text = images.texts[images.textOf[n]];
        if (wrong(text)) throw new UserError({ file: images.file, line: images.lineOf[n], message: message(text) });
      }
    }
  };
  const all = [...new Set([...train.texts, ...test.texts])];
  const numbered = all.every(isClassNumber);
  // Numbers and words mixed without a list: most likely a mistyped label, which would be a class of its own.
  // The odd one out is the kind fewer images have.
  if (!classes && !numbered && all.some(isClassNumber)) {
    let numbers = 0;
    for (const images of [train, test]) for (let n = 0; n < images.count; n++) if (isClassNumber(images.texts[images.textOf[n]])) numbers++;
    if (numbers * 2 > train.count + test.count) check((t) => !isClassNumber(t), (t) => `label '${t}', where other labels are class numbers (0 to ${MOST_CLASSES - 1}); correct it, or list every class in data.classes`);
    check(isClassNumber, (t) => `label '${t}', a number, where other labels are words; correct it, or list every class in data.classes`);
  }
  if (classes) {
    const list = `data.classes (${classes.slice(0, 6).join(', ')}${classes.length > 6 ? ', ...' : ''})`;
    if (all.every((t) => classes.includes(t))) return { names: [...classes], labelOf: (t) => classes.indexOf(t) };
    if (!numbered) check((t) => !classes.includes(t), (t) => `label '${t}' is not among ${list}; add it to the list, or remove its images`);
    check((t) => Number(t) >= classes.length, (t) => `label ${t}, but ${list} names ${classes.length} classes, labels 0 to ${classes.length - 1}; give a name for every class`);
    return { names: [...classes], labelOf: Number };
  }
  if (numbered) {
    const top = (images: CsvImages) => Math.max(...images.texts.map(Number));
    const trainTop = top(train);
    check((t) => Number(t) > trainTop, (t) => testBeyondTraining(Number(t), trainTop));
    return { names: null, labelOf: Number };
  }
  // Words: the training file's, sorted (as torchvision sorts a folder dataset's classes).
  const names = [...train.texts].sort();
  if (names.length > MOST_CLASSES) throw new UserError({ file: train.file, message: `its labels name ${names.length} classes; at most ${MOST_CLASSES} are told apart: merge some, or train on part of them (the images of up to ${MOST_CLASSES} labels)` });
  check((t) => !names.includes(t), (t) => `label '${t}' is not a class of the training file ${train.file}; the network would be tested on a class it never trained on`);
  return { names, labelOf: (t) => names.indexOf(t) };
}

/** The label of each image, its class's place. */
function labelsOf(images: CsvImages, labelOf: (text: string) => number): Uint8Array {
  const places = images.texts.map(labelOf);
  return Uint8Array.from(images.textOf.subarray(0, images.count), (t) => places[t]);
}

/** A value as written, without the spaces around it and the quotes of a writer that quotes everything ("" inside standing for "). */
const unquoted = (text: string) => {
  const t = text.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/""/g, '"') : t;
};

/**
 * A line's values where some are quoted (RFC 4180): a comma between quotes is part of its value.
 * Each value keeps its quotes, for unquoted() to take off.
 */
function quotedFields(line: string): string[] {
  const fields: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') quoted = !quoted;
    else if (line[i] === ',' && !quoted) {
      fields.push(line.slice(start, i));
      start = i + 1;
    }
  }
  fields.push(line.slice(start));
  return fields;
}

/**
 * A split's images at size×size (data.size), by the area resampling `sweep predict` fits digits
 * with (each new pixel the mean of the old area it covers: anti-aliased when shrinking, piecewise
 * when enlarging); as they are when no size is given or they have it already.
 */
function resized(split: SplitBytes, size: number | undefined): SplitBytes {
  if (size === undefined || size === split.side) return split;
  const { side, count } = split;
  const pixels = new Uint8Array(count * size * size);
  const image = new Float32Array(side * side);
  const whole = { left: 0, top: 0, width: side, height: side };
  for (let n = 0; n < count; n++) {
    for (let p = 0; p < image.length; p++) image[p] = split.pixels[n * side * side + p];
    const out = resample(image, side, whole, size, size);
    for (let p = 0; p < out.length; p++) pixels[n * size * size + p] = Math.min(255, Math.round(out[p]));
  }
  return { pixels, labels: split.labels, count, side: size };
}

/** A whole number 0..255 written in decimal (spaces and quotes around allowed: unquoted), or -1. */
function byteOf(text: string): number {
  const t = unquoted(text);
  if (!/^\d{1,3}$/.test(t)) return -1;
  const v = Number(t);
  return v <= 255 ? v : -1;
}

/** The lines of a text file one after another, read in pieces: a file may be larger than a string can hold (EMNIST's CSVs are 600 MB). */
export function* linesOf(file: string, pieceBytes = 16 * 1024 * 1024): Generator<string> {
  const fd = openSync(file, 'r');
  try {
    const decoder = new StringDecoder('utf8');
    const buffer = Buffer.alloc(pieceBytes);
    let rest = '';
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      const text = rest + (n ? decoder.write(buffer.subarray(0, n)) : decoder.end());
      const lines = text.split('\n');
      rest = n ? lines.pop()! : '';
      yield* lines;
      if (!n) return;
    }
  } finally {
    closeSync(fd);
  }
}

const square = (n: number) => Math.round(Math.sqrt(n)) ** 2 === n && n >= 144;

/** The label column: data.label by name; else the one named label (any case), as Kaggle names it; else the first. */
function labelColumnOf(header: string[], labelName: string | undefined, at: (line: number, message: string) => UserError): number {
  if (labelName !== undefined) {
    const i = header.indexOf(labelName);
    if (i < 0) throw at(1, `no column named '${labelName}' (the header has ${header.slice(0, 4).join(', ')}${header.length > 4 ? ', ...' : ''}); set data.label to the label column's name`);
    return i;
  }
  const named = header.findIndex((h) => h.toLowerCase() === 'label');
  if (named >= 0) return named;
  // Every column a pixel of a square image: a file without labels (Kaggle's test.csv has none).
  if (square(header.length)) throw at(1, `no label column: its ${header.length} columns are the pixels of a ${Math.sqrt(header.length)}x${Math.sqrt(header.length)} image; a file to train or test on needs each image's label (Kaggle's test.csv has none)`);
  return 0;
}

/** The images of a CSV file, checked row by row: a mistake is one line naming the file and its line. */
export function readCsv(file: string, labelName: string | undefined): CsvImages {
  const at = (line: number, message: string) => new UserError({ file, line, message });
  const lines = linesOf(file);
  const first = lines.next();
  const headerLine = first.done ? '' : first.value.replace(/\r$/, '').replace(/^\uFEFF/, '');
  if (!headerLine.includes(',') && headerLine.includes(';')) throw at(1, "its values are separated by ';'; write it with commas (as Kaggle's files are)");
  const header = (headerLine.includes('"') ? quotedFields(headerLine) : headerLine.split(',')).map(unquoted);
  if (header.length < 2 || header.every((h) => h === '')) throw at(1, 'expected a header row (label,pixel0,pixel1,...): a label column and one column per pixel');
  // A first row of numbers is an image, not a header: the columns then have no names.
  if (header.every((h) => /^\d+$/.test(h))) throw at(1, `expected a header row naming the columns (label,pixel0,...), found ${header.length} numbers; add one`);
  if (header[0] === '' && header.length > 1) throw at(1, "its first column has no name: an index, as pandas' to_csv writes one; write the file with index=False");
  if (header[header.length - 1] === '') throw at(1, 'its header ends with an empty column (a comma at the end of each line?); remove it');
  const labelColumn = labelColumnOf(header, labelName, at);
  const pixelCount = header.length - 1;
  const side = Math.round(Math.sqrt(pixelCount));
  if (!square(pixelCount)) throw at(1, `${pixelCount} pixel columns are not a square image of at least 12x12 (784 make 28x28)`);
  // Grown as rows come: the count is not known before the file is read.
  let pixels = new Uint8Array(1024 * pixelCount);
  let textOf = new Uint32Array(1024);
  let lineOf = new Uint32Array(1024);
  const texts: string[] = [];
  const placeOf = new Map<string, number>();
  let count = 0;
  let lineNumber = 1;
  for (const raw of lines) {
    lineNumber++;
    const line = raw.replace(/\r$/, '');
    // A blank line (the last line's newline) holds no image.
    if (line.trim() === '') continue;
    if (count === textOf.length) [pixels, textOf, lineOf] = [grown(pixels), grown(textOf), grown(lineOf)];
    // Quoted values (a label with a comma, as pandas and Python's csv write it) are split as RFC 4180 says; the rest plainly, fast.
    const fields = line.includes('"') ? quotedFields(line) : line.split(',');
    if (fields.length !== header.length) throw at(lineNumber, `${fields.length} values; the header has ${header.length} columns (a label and ${pixelCount} pixels)`);
    let p = count * pixelCount;
    for (let c = 0; c < fields.length; c++) {
      if (c === labelColumn) {
        const text = unquoted(fields[c]);
        if (text === '') throw at(lineNumber, `no label (the ${header[c] ? `'${header[c]}' ` : ''}column is empty); give every image its class`);
        let place = placeOf.get(text);
        if (place === undefined) placeOf.set(text, (place = texts.push(text) - 1));
        textOf[count] = place;
        lineOf[count] = lineNumber;
      } else {
        const v = byteOf(fields[c]);
        if (v < 0) throw at(lineNumber, `${header[c] || `column ${c + 1}`} is '${fields[c].trim()}': expected a whole number from 0 to 255`);
        pixels[p++] = v;
      }
    }
    count++;
  }
  if (count === 0) throw at(1, 'holds no images (a header and no rows); a dataset needs training and test images');
  return { file, pixels: pixels.subarray(0, count * pixelCount), texts, textOf: textOf.subarray(0, count), lineOf: lineOf.subarray(0, count), count, side };
}

/** A copy of `array` twice as long, its start the same. */
function grown<T extends Uint8Array | Uint32Array>(array: T): T {
  const more = new (array.constructor as new (n: number) => T)(array.length * 2);
  more.set(array);
  return more;
}
