/**
 * A full disk, said the same way wherever lenet-sweep writes: the path, which disk, how much room
 * is left (and, where known, how much the write needed), and what to do. fs says only "ENOSPC: no
 * space left on device, write" and SQLite "database or disk is full", neither naming the place.
 * A full disk is no mistake in the command: a runtime failure, exit 1 (DiskFullError).
 */
import { existsSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** SQLite's "database or disk is full", and the file system's own words for it (a quota too). */
export function isDiskFull(err: unknown): boolean {
  return ['SQLITE_FULL', 'ENOSPC', 'EDQUOT'].includes((err as { code?: string } | null)?.code ?? '');
}

/**
 * The failure of a write on a full disk: its message says where and how full, and what to do
 * (a trial's worker says only where, and the sweep adds what it does about it).
 */
export class DiskFullError extends Error {}

/** Where a write went and what to say if its disk is full. */
export interface FullDiskWords {
  /** The file or folder written. */
  path: string;
  /** What the disk holds, for "the disk holding …" ('the database'); absent: "the disk is full". */
  holding?: string;
  /** What to do, after the figures: 'free some space there, or give another --out'. */
  fix: string;
  /** Bytes the write needed, when known: said beside the room left. */
  needed?: number;
}

/**
 * Megabytes to a tenth, as the messages give them (0, 0.3, 1,024.5): the room left rounded down
 * and the room needed rounded up, so that freeing what they say is always enough.
 */
const megabytes = (bytes: number, round: (x: number) => number) => (round(bytes / 1e5) / 10).toLocaleString('en', { maximumFractionDigits: 1 });

/** Bytes free to this user on the file system of `path` (or of its nearest existing parent); undefined where it cannot be told. */
export function bytesFree(path: string): number | undefined {
  let at = resolve(path);
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  try {
    const { bavail, bsize } = statfsSync(at);
    return bavail * bsize;
  } catch {
    return undefined;
  }
}

/** `PATH: the disk holding WHAT is full (N MB free, M MB needed)`: the fact, without what to do. */
export function diskFullText({ path, holding, needed }: Omit<FullDiskWords, 'fix'>): string {
  const free = bytesFree(path);
  const figures = [...(free === undefined ? [] : [`${megabytes(free, Math.floor)} MB free`]), ...(needed ? [`${megabytes(needed, Math.ceil)} MB needed`] : [])];
  return `${path}: the disk${holding ? ` holding ${holding}` : ''} is full${figures.length ? ` (${figures.join(', ')})` : ''}`;
}

export function diskFull(words: FullDiskWords): DiskFullError {
  return new DiskFullError(`${diskFullText(words)}; ${words.fix}`);
}

/** Runs a write; a full disk comes out as diskFull(words), any other failure as it was. */
export function sayingDiskFull<T>(words: FullDiskWords, write: () => T): T {
  try {
    return write();
  } catch (err) {
    throw isDiskFull(err) ? diskFull(words) : err;
  }
}
