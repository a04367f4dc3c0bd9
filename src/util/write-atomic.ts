import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/**
 * Writes a file through a temporary one renamed into place, so a reader (or a crash) never sees
 * it half-written; the temporary file is removed when writing fails. The data may come in
 * pieces (a report too large for one buffer), written one after another.
 */
export function writeFileAtomic(path: string, data: FileData): void {
  writeFilesAtomic([{ path, data }]);
}

/**
 * Writes files that belong together (a model and its card, a report's charts): all of them go to
 * temporary files first, and only once every one is written (a full disk fails one of them) are
 * they renamed into place, so a failure leaves none of them, nor any temporary file.
 */
export function writeFilesAtomic(files: { path: string; data: FileData }[]): void {
  const temporary = files.map((f) => ({ ...f, tmp: `${f.path}.${process.pid}.tmp` }));
  try {
    for (const { tmp, data } of temporary) writePieces(tmp, data);
    for (const { tmp, path } of temporary) renameSync(tmp, path);
  } finally {
    for (const { tmp } of temporary) rmSync(tmp, { force: true });
  }
}

/** A file's bytes, whole or in pieces written one after another. */
export type FileData = Uint8Array | readonly Uint8Array[];

function writePieces(path: string, data: FileData): void {
  const fd = openSync(path, 'w');
  try {
    for (const piece of data instanceof Uint8Array ? [data] : data) {
      for (let at = 0; at < piece.length; ) at += writeSync(fd, piece, at);
    }
  } finally {
    closeSync(fd);
  }
}
