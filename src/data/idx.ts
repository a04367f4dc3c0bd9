/**
 * The IDX format of MNIST, Fashion-MNIST, KMNIST and EMNIST: a big-endian magic number
 * (0x0000 08 NN: unsigned bytes, NN dimensions), NN big-endian uint32 sizes, then the bytes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { makeFolder } from '../util/make-folder.js';
import { writeFileAtomic } from '../util/write-atomic.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Thrown for files that are not valid IDX; carries the path so the CLI can name it. */
export class IdxError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
  }
}

/**
 * Reads an IDX file, gzipped or not. With an `unpacked` folder, a gzipped file is decompressed
 * once into it (named by the file's path, size and time) and read from there afterwards:
 * gunzip is most of the time it takes to load 60,000 images.
 */
export function readIdx(path: string, unpacked?: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = unpacked ? readUnpacked(path, bytes, unpacked) : gunzipSync(bytes);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new IdxError(path, e.code?.startsWith('Z_') ? `not a valid gzip file (${e.message})` : `cannot read (${e.code ?? e.message})`);
  }
  return parseIdx(path, bytes);
}

function readUnpacked(path: string, gz: Uint8Array, folder: string): Uint8Array {
  const stat = statSync(path);
  const key = createHash('sha256').update(`${resolve(path)}\0${stat.size}\0${stat.mtimeMs}`).digest('hex').slice(0, 16);
  const copy = join(folder, `${basename(path, '.gz')}.${key}`);
  if (existsSync(copy)) return readFileSync(copy);
  const bytes = gunzipSync(gz);
  try {
    makeFolder(folder);
    writeFileAtomic(copy, bytes);
  } catch {
    // A read-only or full cache only costs speed.
  }
  return bytes;
}

function parseIdx(path: string, bytes: Uint8Array): IdxArray {
  if (bytes.length < 4) throw new IdxError(path, 'file is too short to be an IDX file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const ndim = magic & 0xff;
  if (magic >>> 8 !== 0x08 || ndim < 1 || ndim > 4) {
    throw new IdxError(path, `bad magic number 0x${magic.toString(16).padStart(8, '0')} (expected 0x0000080N for unsigned bytes)`);
  }
  const header = 4 + 4 * ndim;
  if (bytes.length < header) throw new IdxError(path, 'header is truncated');
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - header < size) {
    throw new IdxError(path, `truncated: dimensions ${dims.join('x')} need ${size} bytes of data, found ${bytes.length - header}`);
  }
  return { dims, data: bytes.subarray(header, header + size) };
}

/** Writes an uncompressed IDX file atomically (temp file, then rename). */
export function writeIdx(path: string, dims: number[], data: Uint8Array): void {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x800 | dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  writeFileAtomic(path, Buffer.concat([header, data]));
}
