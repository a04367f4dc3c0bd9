/**
 * The SHA-256 of a dataset's files, which every run records (sweep/provenance.ts). Hashing reads
 * a file whole (Fashion-MNIST is 55 MB, the embedded digits 8 MB, 0.2 s at every sweep start),
 * so a checksum is kept in the cache folder with what `stat` said of the file, and used again
 * while the file is the same one, unchanged: its device, inode, size, and modification and
 * change times (the change time moves with every write and cannot be set back). As git does for
 * its index, a file changed within RACY_MS before it was hashed is not kept: on a file system
 * with coarse timestamps a second write in the same tick would leave every one of those equal.
 * Entries of files that are gone are dropped when a new one is kept. The kept checksums only
 * save time: a cache that cannot be read or written is passed over.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/write-atomic.js';
import { cacheDir } from './cache-dir.js';

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

interface Kept {
  path: string;
  stat: string;
  sha256: string;
}

/** How long ago a file must have last changed for its checksum to be kept: longer than any file system's timestamp tick (FAT's is 2 s). */
export const RACY_MS = 3000;

/** What must be equal for a kept checksum to hold. */
const statKey = (s: Stats) => [s.dev, s.ino, s.size, s.mtimeMs, s.ctimeMs].join(':');

/** Where the checksum of a file is kept, or undefined where the cache has no place. */
function keptAt(path: string): string | undefined {
  try {
    return join(cacheDir(), 'checksums', `${sha256(path)}.json`);
  } catch {
    return undefined;
  }
}

/** The file's SHA-256 (hex): kept from an earlier run where the file is unchanged, else read and kept. */
export function fileChecksum(file: string, racyMs = RACY_MS): string {
  const path = resolve(file);
  const stats = statSync(path);
  const stat = statKey(stats);
  const at = keptAt(path);
  if (at) {
    try {
      const kept = JSON.parse(readFileSync(at, 'utf8')) as Kept;
      if (kept.path === path && kept.stat === stat && /^[0-9a-f]{64}$/.test(kept.sha256)) return kept.sha256;
    } catch {
      // None kept yet, or unreadable: hashed below.
    }
  }
  const hashedAt = Date.now();
  const sum = sha256(readFileSync(path));
  // Kept only if the file did not change while it was read, nor just before. Date.now() counts
  // whole milliseconds and the file's times have fractions: a file written in the same
  // millisecond as it was hashed seemed changed in the future (a test that settles files at once
  // failed so on a fast machine), so the times are compared in whole milliseconds too.
  const settled = hashedAt - Math.floor(Math.max(stats.mtimeMs, stats.ctimeMs)) >= racyMs;
  if (at && settled && statKey(statSync(path)) === stat) {
    try {
      mkdirSync(dirname(at), { recursive: true });
      dropGone(dirname(at));
      writeFileAtomic(at, Buffer.from(JSON.stringify({ path, stat, sha256: sum } satisfies Kept)));
    } catch {
      // A read-only or full cache: the next run hashes the file again.
    }
  }
  return sum;
}

/** Drops the kept checksums of files that no longer exist (datasets moved or deleted). */
function dropGone(folder: string): void {
  for (const name of readdirSync(folder)) {
    try {
      const { path } = JSON.parse(readFileSync(join(folder, name), 'utf8')) as Kept;
      if (!existsSync(path)) rmSync(join(folder, name), { force: true });
    } catch {
      rmSync(join(folder, name), { force: true }); // damaged, or a temporary file left by a crash
    }
  }
}

/** Whether the files of `dir` named in `sums` are all there with those checksums (a file that cannot be read is not). */
export function filesUnchanged(dir: string, sums: Record<string, string>): boolean {
  try {
    return Object.entries(sums).every(([name, sum]) => fileChecksum(join(dir, name)) === sum);
  } catch {
    return false;
  }
}
