/**
 * The IDX format of MNIST, Fashion-MNIST, KMNIST and EMNIST: a big-endian magic number
 * (0x0000 08 NN: unsigned bytes, NN dimensions), NN big-endian uint32 sizes, then the bytes.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

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

export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
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
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([header, data]));
  renameSync(tmp, path);
}
