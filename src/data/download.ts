/**
 * Downloading a dataset's files into the cache: each file from the first mirror that serves it
 * with the published checksum, written atomically (a temporary file renamed into place), so a
 * failed or corrupt download never leaves a partial file behind.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeFolder, unmakeFolders } from '../util/make-folder.js';
import { readRegularFile } from '../util/regular-file.js';
import { writeFileAtomic } from '../util/write-atomic.js';

export interface RemoteFile {
  name: string;
  md5: string;
}

export interface DownloadSpec {
  files: RemoteFile[];
  /** Base URLs, tried in order; a file's URL is the base followed by its name. */
  mirrors: string[];
  timeoutMs?: number;
  /** Told about each file fetched, for people waiting on a large download. */
  log?: (message: string) => void;
}

/** The four files of MNIST, with the checksums torchvision and the original site publish. */
export const MNIST_FILES: RemoteFile[] = [
  { name: 'train-images-idx3-ubyte.gz', md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873' },
  { name: 'train-labels-idx1-ubyte.gz', md5: 'd53e105ee54ea40749a09fcbcd1e9432' },
  { name: 't10k-images-idx3-ubyte.gz', md5: '9fb629c4189551a2d022fa330f9573f3' },
  { name: 't10k-labels-idx1-ubyte.gz', md5: 'ec29112dd5afa0611ce80d1b7f02629c' },
];

/** Where mnist-full comes from when the file names no mirrors. */
export const MNIST_MIRRORS = [
  'https://ossci-datasets.s3.amazonaws.com/mnist/',
  'https://storage.googleapis.com/cvdf-datasets/mnist/',
  'http://yann.lecun.com/exdb/mnist/',
];

/** A download that could not be completed from any mirror: a runtime failure, not bad input. */
export class DownloadError extends Error {}

const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

async function fetchFile(url: string, timeoutMs: number): Promise<Uint8Array> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Makes every file of the spec present and verified in dir; returns dir. */
export async function download(spec: DownloadSpec, dir: string): Promise<string> {
  const made = makeFolder(dir);
  try {
    await downloadInto(spec, dir);
  } catch (err) {
    // The files already downloaded are whole (each checked and renamed into place) and stay for
    // the next try; a folder made for them and left empty goes.
    unmakeFolders(made);
    throw err;
  }
  return dir;
}

async function downloadInto(spec: DownloadSpec, dir: string): Promise<void> {
  for (const file of spec.files) {
    const target = join(dir, file.name);
    // Only a regular file is read: a FIFO left there would block the open for good (NotRegularFileError).
    if (existsSync(target) && md5(readRegularFile(target)) === file.md5) continue;
    const failures: string[] = [];
    let done = false;
    for (const mirror of spec.mirrors) {
      const url = mirror.endsWith('/') ? `${mirror}${file.name}` : `${mirror}/${file.name}`;
      let bytes: Uint8Array;
      spec.log?.(`downloading ${url}`);
      try {
        bytes = await fetchFile(url, spec.timeoutMs ?? 120_000);
      } catch (err) {
        failures.push(`${url}: ${(err as Error).cause ? String((err as Error & { cause: Error }).cause.message ?? (err as Error).cause) : (err as Error).message}`);
        continue;
      }
      const sum = md5(bytes);
      if (sum !== file.md5) {
        failures.push(`${url}: checksum mismatch (md5 ${sum}, expected ${file.md5})`);
        continue;
      }
      writeFileAtomic(target, bytes);
      done = true;
      break;
    }
    if (!done) throw new DownloadError(`could not download ${file.name}: ${failures.join('; ') || 'no mirrors given'}`);
  }
}
