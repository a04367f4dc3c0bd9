/**
 * The SHA-256 of a dataset's files, which every run records (sweep/provenance.ts). Hashing reads
 * a file whole (Fashion-MNIST is 55 MB, the embedded digits 8 MB, 0.2 s at every sweep start),
 * so a checksum is kept in the cache folder with what `stat` said of the file, and used again
 * while the file is the same one, unchanged: its device, inode, size, and modification and
 * change times (the change time moves with every write and cannot be set back, as git's index
 * and make rely on). The kept checksums only save time: a cache that cannot be read or written
 * is passed over.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/write-atomic.js';
import { cacheDir } from './cache-dir.js';

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

interface Kept {
  path: string;
  stat: string;
  sha256: string;
}

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
export function fileChecksum(file: string): string {
  const path = resolve(file);
  const stat = statKey(statSync(path));
  const at = keptAt(path);
  if (at) {
    try {
      const kept = JSON.parse(readFileSync(at, 'utf8')) as Kept;
      if (kept.path === path && kept.stat === stat && /^[0-9a-f]{64}$/.test(kept.sha256)) return kept.sha256;
    } catch {
      // None kept yet, or unreadable: hashed below.
    }
  }
  const sum = sha256(readFileSync(path));
  // Kept only if the file did not change while it was read.
  if (at && statKey(statSync(path)) === stat) {
    try {
      mkdirSync(join(at, '..'), { recursive: true });
      writeFileAtomic(at, Buffer.from(JSON.stringify({ path, stat, sha256: sum } satisfies Kept)));
    } catch {
      // A read-only or full cache: the next run hashes the file again.
    }
  }
  return sum;
}
