/**
 * The IDX format of MNIST, Fashion-MNIST, KMNIST and EMNIST: a big-endian magic number
 * (0x0000 08 NN: unsigned bytes, NN dimensions), NN big-endian uint32 sizes, then the bytes.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:buffer';
import { closeSync, existsSync, fstatSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { UserError } from '../config/errors.js';
import { makeFolder } from '../util/make-folder.js';
import { pathProblem } from '../util/path-problem.js';
import { NotRegularFileError, openRegularFile, readRegularFile } from '../util/regular-file.js';
import { writeFileAtomic } from '../util/write-atomic.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Thrown for files that are not valid IDX, or cannot be read: the user's to fix, so a UserError
 * (one line naming the file, exit 2) wherever it is thrown; carries the path.
 */
export class IdxError extends UserError {
  constructor(readonly path: string, message: string) {
    super({ file: path, message });
  }
}

/** Deflate's best ratio: a compressed byte never stands for more than 1032 bytes. */
const DEFLATE_MAX_RATIO = 1032;

/** The most bytes one file may unpack to: Node's largest buffer. */
const MAX_IDX_BYTES = constants.MAX_LENGTH;

/** What an IDX header states: the dimensions, the header's length and the data's. */
export interface IdxHeader {
  dims: number[];
  headerBytes: number;
  dataBytes: number;
}

/** Bytes read from the start of a file for its header: a gzip file's first 64 KiB unpack to a header whatever its name field holds. */
const HEAD_BYTES = 65536;

/**
 * An IDX file's header, gzipped or not, checked against the file's size: of a gzip file only the
 * first bytes are read and unpacked. For checks that need no data (do the label and image files
 * agree?) before any file is unpacked.
 */
export function readIdxHeader(path: string): IdxHeader {
  return withIdxFile(path, (fd, size) => checkedHeader(path, fd, size).header);
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
  const bytes = withIdxFile(path, (fd, size) => {
    const { header, gzip } = checkedHeader(path, fd, size);
    const total = header.headerBytes + header.dataBytes;
    if (!gzip) return readFileSync(fd);
    const gz = readFileSync(fd);
    return unpacked ? readUnpacked(path, gz, unpacked, total) : gunzip(gz, total);
  });
  return parseIdx(path, bytes);
}

/**
 * Runs `read` on the file, opened only when it is a regular file (a FIFO would block the open
 * until a writer came, deaf to SIGTERM), with its size; every failure becomes an IdxError
 * naming the file.
 */
function withIdxFile<T>(path: string, read: (fd: number, size: number) => T): T {
  let fd: number | undefined;
  try {
    fd = openRegularFile(path);
    return read(fd, fstatSync(fd).size);
  } catch (err) {
    if (err instanceof IdxError) throw err;
    if (err instanceof NotRegularFileError) throw new IdxError(path, `is ${err.kind}, not a regular file; the dataset's IDX files must be regular files (or links to them)`);
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE') throw new IdxError(path, 'not a valid gzip file: it unpacks to more data than its header states');
    if (e.code === 'ERR_FS_FILE_TOO_LARGE') throw new IdxError(path, 'cannot read: the file is over 2 GiB, the most Node reads at once');
    throw new IdxError(path, e.code?.startsWith('Z_') ? `not a valid gzip file (${e.message})` : e.code === 'ENOENT' ? 'a link to nothing (its target is gone)' : pathProblem(e));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The header of the open file, checked against its size; whether the file is gzipped. */
function checkedHeader(path: string, fd: number, size: number): { header: IdxHeader; gzip: boolean } {
  const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
  const start = head.subarray(0, readSync(fd, head, 0, head.length, 0));
  if (start[0] === 0x1f && start[1] === 0x8b) {
    const header = parseHeader(path, gunzipHead(start));
    const total = header.headerBytes + header.dataBytes;
    if (total > size * DEFLATE_MAX_RATIO) {
      throw new IdxError(path, `truncated: dimensions ${header.dims.join('x')} need ${header.dataBytes} bytes of data, more than a gzip file of ${size} bytes can hold`);
    }
    if (total > MAX_IDX_BYTES) throw new IdxError(path, `dimensions ${header.dims.join('x')} need ${header.dataBytes} bytes, more than the ${MAX_IDX_BYTES} one file may hold here`);
    return { header, gzip: true };
  }
  const header = parseHeader(path, start);
  const found = size - header.headerBytes;
  if (found < header.dataBytes) throw new IdxError(path, `truncated: dimensions ${header.dims.join('x')} need ${header.dataBytes} bytes of data, found ${found}`);
  return { header, gzip: false };
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

/**
 * Unpacks a gzip file of an IDX file of `size` bytes into one buffer: zlib writes into chunks of
 * chunkSize and joins them at the end, so chunks of the whole size (and one byte, to tell a
 * stream running on past it) never hold the data twice. A stream running on past `size` is
 * refused, not unpacked.
 */
const gunzip = (gz: Uint8Array, size: number) =>
  gunzipSync(gz, { maxOutputLength: Math.max(size, 1), chunkSize: Math.min(Math.max(size + 1, zlibConstants.Z_MIN_CHUNK), MAX_IDX_BYTES) });

function readUnpacked(path: string, gz: Uint8Array, folder: string, size: number): Uint8Array {
  const stat = statSync(path);
  const key = createHash('sha256').update(`${resolve(path)}\0${stat.size}\0${stat.mtimeMs}`).digest('hex').slice(0, 16);
  const copy = join(folder, `${basename(path, '.gz')}.${key}`);
  if (existsSync(copy)) {
    try {
      return readRegularFile(copy);
    } catch {
      // Not a file that can be read (something else put there): unpacked again, and replaced.
    }
  }
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
