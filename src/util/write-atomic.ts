import { renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes a file through a temporary one renamed into place, so a reader (or a crash) never sees
 * it half-written; the temporary file is removed when writing fails.
 */
export function writeFileAtomic(path: string, data: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}
