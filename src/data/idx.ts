/**
 * The IDX format of MNIST, Fashion-MNIST, KMNIST and EMNIST: a big-endian magic number
 * (0x0000 08 NN: unsigned bytes, NN dimensions), NN big-endian uint32 sizes, then the bytes.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:buffer';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
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

/** Deflate's best ratio: a compressed byte never stands for more than 1032 bytes. */
const DEFLATE_MAX_RATIO = 1032;

/** The most bytes one file may unpack to: Node's largest buffer. */
const MAX_IDX_BYTES = constants.MAX_LENGTH;

/** What an IDX header states: the dimensions, the header's length and the data's. */
interface IdxHeader {
  dims: number[];
  headerBytes: number;
  dataBytes: number;
}

/**
 * Reads an IDX file, gzipped or not. With an `unpacked` folder, a gzipped file is decompressed
 * once into it (named by the file's path, size and time) and read from there afterwards:
 * gunzip is most of the time it takes to load 60,000 images.
 *
 * The header is checked against the file's size before the data is read or unpacked: a header
 * claiming billions of images, or a small gzip file unpacking to gigabytes, is refused at once
 * instead of allocating for what it claims.
 */
export function readIdx(path: string, unpacked?: string): IdxArray {
  let bytes: Uint8Array;
  try {
    const head = readHead(path, 64);
    if (head[0] === 0x1f && head[1] === 0x8b) {
      const gz = readFileSync(path);
      const header = parseHeader(path, gunzipHead(gz));
      const size = header.headerBytes + header.dataBytes;
      if (size > gz.length * DEFLATE_MAX_RATIO) {
        throw new IdxError(path, `truncated: dimensions ${header.dims.join('x')} need ${header.dataBytes} bytes of data, more than a gzip file of ${gz.length} bytes can hold`);
      }
      if (size > MAX_IDX_BYTES) throw new IdxError(path, `dimensions ${header.dims.join('x')} need ${header.dataBytes} bytes, more than the ${MAX_IDX_BYTES} one file may hold here`);
      bytes = unpacked ? readUnpacked(path, gz, unpacked, size) : gunzip(gz, size);
    } else {
      const header = parseHeader(path, head);
      const found = statSync(path).size - header.headerBytes;
      if (found < header.dataBytes) throw new IdxError(path, `truncated: dimensions ${header.dims.join('x')} need ${header.dataBytes} bytes of data, found ${found}`);
      bytes = readFileSync(path);
    }
  } catch (err) {
    if (err instanceof IdxError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE') throw new IdxError(path, 'not a valid gzip file: it unpacks to more data than its header states');
    if (e.code === 'ERR_FS_FILE_TOO_LARGE') throw new IdxError(path, 'cannot read: the file is over 2 GiB, the most Node reads at once');
    throw new IdxError(path, e.code?.startsWith('Z_') ? `not a valid gzip file (${e.message})` : `cannot read (${e.code ?? e.message})`);
  }
  return parseIdx(path, bytes);
}

/** The file's first bytes (all of it when shorter). */
function readHead(path: string, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(length);
    return head.subarray(0, readSync(fd, head, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * The first unpacked bytes of a gzip file, enough for a header: unpacking the first kilobytes
 * gives at most a megabyte or so whatever the file holds (a long file name in the gzip header
 * may need the larger piece).
 */
function gunzipHead(gz: Uint8Array): Uint8Array {
  let out: Uint8Array = new Uint8Array(0);
  for (const piece of [1024, 65536]) {
    out = gunzipSync(gz.subarray(0, piece), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    if (out.length >= 4 + 4 * 4 || piece >= gz.length) break;
  }
  return out;
}

/** Unpacks a gzip file of an IDX array of `size` bytes: a stream running on past it is refused, not unpacked. */
const gunzip = (gz: Uint8Array, size: number) => gunzipSync(gz, { maxOutputLength: Math.max(size, 1) });

function readUnpacked(path: string, gz: Uint8Array, folder: string, size: number): Uint8Array {
  const stat = statSync(path);
  const key = createHash('sha256').update(`${resolve(path)}\0${stat.size}\0${stat.mtimeMs}`).digest('hex').slice(0, 16);
  const copy = join(folder, `${basename(path, '.gz')}.${key}`);
  if (existsSync(copy)) return readFileSync(copy);
  const bytes = gunzip(gz, size);
  try {
    makeFolder(folder);
    writeFileAtomic(copy, bytes);
  } catch {
    // A read-only or full cache only costs speed.
  }
  return bytes;
}

/** The header's magic number and dimensions, checked; the data's length as they state it. */
function parseHeader(path: string, bytes: Uint8Array): IdxHeader {
  if (bytes.length < 4) throw new IdxError(path, 'file is too short to be an IDX file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const ndim = magic & 0xff;
  if (magic >>> 8 !== 0x08 || ndim < 1 || ndim > 4) {
    throw new IdxError(path, `bad magic number 0x${magic.toString(16).padStart(8, '0')} (expected 0x0000080N for unsigned bytes)`);
  }
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) throw new IdxError(path, 'header is truncated');
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i));
  return { dims, headerBytes, dataBytes: dims.reduce((a, b) => a * b, 1) };
}

function parseIdx(path: string, bytes: Uint8Array): IdxArray {
  const { dims, headerBytes, dataBytes } = parseHeader(path, bytes);
  if (bytes.length - headerBytes < dataBytes) {
    throw new IdxError(path, `truncated: dimensions ${dims.join('x')} need ${dataBytes} bytes of data, found ${bytes.length - headerBytes}`);
  }
  return { dims, data: bytes.subarray(headerBytes, headerBytes + dataBytes) };
}

/** Writes an uncompressed IDX file atomically (temp file, then rename). */
export function writeIdx(path: string, dims: number[], data: Uint8Array): void {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x800 | dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  writeFileAtomic(path, Buffer.concat([header, data]));
}
