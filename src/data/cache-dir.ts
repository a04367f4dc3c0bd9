import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { UserError } from '../config/errors.js';
import type { FullDiskWords } from '../util/disk-full.js';
import { whyNotWritable } from '../util/make-folder.js';

/** The cache folder and the environment variable that chose it, for messages that name it. */
export interface CacheLocation {
  dir: string;
  variable: 'LENET_SWEEP_CACHE' | 'XDG_CACHE_HOME' | 'HOME';
  value: string;
}

/**
 * Where converted datasets live: $LENET_SWEEP_CACHE, else $XDG_CACHE_HOME/lenet-sweep, else
 * ~/.cache/lenet-sweep. As the XDG Base Directory spec says, a relative XDG_CACHE_HOME is
 * invalid and ignored. A home folder that does not exist is refused, not made: system users
 * (nobody, daemons) have HOME=/nonexistent, and as root the folder would be created there.
 */
export function cacheLocation(): CacheLocation {
  const own = process.env.LENET_SWEEP_CACHE;
  if (own) return { dir: own, variable: 'LENET_SWEEP_CACHE', value: own };
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return { dir: join(xdg, 'lenet-sweep'), variable: 'XDG_CACHE_HOME', value: xdg };
  const home = homedir();
  const dir = join(home, '.cache', 'lenet-sweep');
  if (!existsSync(home)) {
    throw new UserError(`HOME=${home}: no such folder, and the dataset cache (${dir}) is not made there; set LENET_SWEEP_CACHE to a folder this user can write`);
  }
  return { dir, variable: 'HOME', value: home };
}

export function cacheDir(): string {
  return cacheLocation().dir;
}

/**
 * The user's to fix when the cache cannot be made or written: a variable pointing at a file, a
 * read-only place. One line naming the variable, its value and what to set instead; null when
 * the failure is not about the cache folder (a path elsewhere, a full disk).
 */
export function cacheProblem(err: unknown): UserError | null {
  let location: CacheLocation;
  try {
    location = cacheLocation();
  } catch {
    return null; // No cache folder at all (a HOME that does not exist): the failure was elsewhere.
  }
  const { dir, variable, value } = location;
  const path = (err as NodeJS.ErrnoException)?.path;
  if (typeof path !== 'string') return null;
  // The folder, one in it, or one of its parents (making those failed first).
  if (!within(path, dir) && !within(dir, path)) return null;
  const why = whyNotWritable(err);
  if (!why) return null;
  const fix = {
    LENET_SWEEP_CACHE: 'set LENET_SWEEP_CACHE to a folder this user can write, or unset it to use ~/.cache/lenet-sweep',
    XDG_CACHE_HOME: 'set XDG_CACHE_HOME to a folder this user can write, or LENET_SWEEP_CACHE to one for lenet-sweep alone',
    HOME: 'set LENET_SWEEP_CACHE to a folder this user can write (or HOME to a home folder)',
  }[variable];
  return new UserError(`${variable}=${value}: the dataset cache ${dir} cannot be made or written (${why}); ${fix}`);
}

/**
 * What a full disk under a dataset's folder says (util/disk-full.ts): in the cache, the variable
 * that chose the cache and how to choose another; else the file's data.dir. `needed`: the bytes
 * the dataset's files take, where known.
 */
export function datasetFolderFull(dir: string, needed?: number): FullDiskWords {
  let location: CacheLocation | undefined;
  try {
    location = cacheLocation();
  } catch {
    // No cache folder at all (a HOME that does not exist): the folder is data.dir.
  }
  if (location && within(dir, location.dir)) {
    const { variable, value } = location;
    return { path: dir, holding: `the dataset cache (${variable}=${value})`, needed, fix: 'free some space there, or set LENET_SWEEP_CACHE to a folder on another disk' };
  }
  return { path: dir, holding: "the dataset's folder (data.dir)", needed, fix: 'free some space there, or set data.dir to a folder on another disk' };
}

/** Whether path is folder or inside it. */
function within(path: string, folder: string): boolean {
  const rest = relative(resolve(folder), resolve(path));
  return rest !== '..' && !rest.startsWith('../') && !isAbsolute(rest);
}
