import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/**
 * Writes a file through a temporary one renamed into place, so a reader (or a crash) never sees
 * it half-written; the temporary file is removed when writing fails. The data may come in
 * pieces (a report too large for one buffer), written one after another.
 */
export function writeFileAtomic(path: string, data: Uint8Array | readonly Uint8Array[]): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (const piece of data instanceof Uint8Array ? [data] : data) {
        for (let at = 0; at < piece.length; ) at += writeSync(fd, piece, at);
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}
