/**
 * Making folders, and saying why one could not be made or written in words a user can act on.
 *
 * mkdirSync(path, { recursive: true }) spins forever, in native code, when a parent exists but
 * refuses children with ENOENT (/proc/anything): Node retries the parent, which exists, then the
 * child again. A stop signal cannot end it either (its handler waits for the event loop). So
 * folders are made here one level at a time.
 */
import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { folderProblem } from './path-problem.js';

/**
 * Makes the folder and any missing parents, as mkdir -p; throws the failing mkdir's error.
 * Returns the folders it made, outermost first (for unmakeFolders when what goes in them fails);
 * when one cannot be made, those it made before are removed again. With `within`, only folders
 * below it are made: when it is gone, this fails with ENOENT as mkdir would, and makes nothing.
 */
export function makeFolder(path: string, within?: string): string[] {
  const missing: string[] = [];
  const top = within === undefined ? undefined : resolve(within);
  if (top !== undefined && relative(top, resolve(path)).split(sep)[0] === '..') throw new Error(`makeFolder: ${path} is not within ${within}`);
  for (let at = resolve(path); !existsSync(at); at = dirname(at)) {
    if (at === top) throw Object.assign(new Error(`ENOENT: no such file or directory, mkdir '${top}'`), { code: 'ENOENT', path: top, syscall: 'mkdir' });
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  const made: string[] = [];
  for (const folder of missing) {
    try {
      mkdirSync(folder);
      made.push(folder);
    } catch (err) {
      // Made meanwhile by another process: as good as made here (and not ours to remove).
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      // All or nothing: a folder that cannot be made (a full disk) leaves no parents made for it.
      unmakeFolders(made);
      throw err;
    }
  }
  if (!statSync(path).isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR', path, syscall: 'mkdir' });
  }
  return made;
}

/**
 * Removes folders makeFolder made, innermost first, where they are still empty: a write that
 * failed (a full disk) leaves no empty folder behind, and never removes what another put there.
 */
export function unmakeFolders(made: string[]): void {
  for (const folder of [...made].reverse()) {
    try {
      rmdirSync(folder);
    } catch {
      return; // Not empty (or gone): it, and the folders above it, stay.
    }
  }
}

/** The first of the path and its parents that exists. */
function existingAncestor(path: string): string {
  let at = resolve(path);
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

/**
 * Why making or writing in a folder failed, as a user can fix it; null for a failure that is
 * not about the place (a full disk, an interrupted write).
 */
export function whyNotWritable(err: unknown): string | null {
  const e = err as NodeJS.ErrnoException;
  if (!e?.code || !e.path) return null;
  switch (e.code) {
    case 'ENOTDIR':
    case 'EEXIST': {
      const blocking = existingAncestor(e.path);
      // Said as what it is: a FIFO or a device is no file to look for.
      return `${blocking} ${folderProblem(blocking) ?? 'is a file, not a folder'}`;
    }
    case 'EACCES':
    case 'EPERM':
      return `this user may not write in ${existingAncestor(e.path)}`;
    case 'EROFS':
      return `${existingAncestor(e.path)} is on a read-only file system`;
    case 'ENOENT':
      return `no folder can be made in ${existingAncestor(e.path)}`;
    default:
      return null;
  }
}
