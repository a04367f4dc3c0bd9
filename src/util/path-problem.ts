/**
 * Why a path the user named could not be looked at or opened, in words rather than fs's codes:
 * `cannot read (ELOOP)` means nothing to most people, and existsSync() says "no such file" of
 * a link that leads back to itself, which sends them looking for a file that is there.
 */
import { statSync } from 'node:fs';
import { notRegularKind } from './regular-file.js';

/** `what` the path should name: a file (the default) or a folder, so the words say which is missing. */
export function pathProblem(err: unknown, what: 'file' | 'folder' = 'file'): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return `no such ${what}`;
    case 'ELOOP':
      return `a loop of symbolic links (a link that leads back to itself); point the link at a ${what}`;
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    default:
      return `cannot read (${code ?? (err as Error)?.message ?? String(err)})`;
  }
}

/** Why `path` cannot be looked at, or null when stat() can (it exists, as far as links go). */
export function statProblem(path: string, stat: (path: string) => unknown): string | null {
  try {
    stat(path);
    return null;
  } catch (err) {
    return pathProblem(err);
  }
}

/**
 * Why `path` (links followed) is not a folder, or null when it is one: what it is instead
 * ('is a FIFO, not a folder'), or why it cannot be looked at ('no such folder'). Said as what
 * it is: "no such folder" of a FIFO sends the user looking for a folder that is not the trouble.
 */
export function folderProblem(path: string): string | null {
  let stats;
  try {
    stats = statSync(path);
  } catch (err) {
    return pathProblem(err, 'folder');
  }
  if (stats.isDirectory()) return null;
  return `is ${stats.isFile() ? 'a file' : notRegularKind(stats)}, not a folder`;
}

/** Why `path` (links followed) is not a regular file to read, or null when it is one: what it is instead, or why it cannot be looked at. */
export function fileProblem(path: string): string | null {
  let stats;
  try {
    stats = statSync(path);
  } catch (err) {
    return pathProblem(err);
  }
  if (stats.isFile()) return null;
  return `is ${stats.isDirectory() ? 'a folder' : notRegularKind(stats)}, not a file`;
}
