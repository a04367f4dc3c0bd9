import { renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes a file through a temporary one renamed into place, so a reader (or a crash) never sees
 * it half-written; the temporary file is removed when writing fails.
 */
export function writeFileAtomic(path: string, data: Uint8Array): void {
  writeFilesAtomic([{ path, data }]);
}

/**
 * Writes files that belong together (a model and its card, a report's charts): all of them go to
 * temporary files first, and only once every one is written (a full disk fails one of them) are
 * they renamed into place, so a failure leaves none of them, nor any temporary file.
 */
export function writeFilesAtomic(files: { path: string; data: Uint8Array }[]): void {
  const temporary = files.map((f) => ({ ...f, tmp: `${f.path}.${process.pid}.tmp` }));
  try {
    for (const { tmp, data } of temporary) writeFileSync(tmp, data);
    for (const { tmp, path } of temporary) renameSync(tmp, path);
  } finally {
    for (const { tmp } of temporary) rmSync(tmp, { force: true });
  }
}
