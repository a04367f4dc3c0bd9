/**
 * Opening a file the user named (an experiment file, a dataset's IDX file) only when it is a
 * regular file. Opening a FIFO for reading blocks in open() until some process opens it for
 * writing, which may be never, and a main thread blocked in open() never runs the handlers of
 * SIGTERM and SIGINT: the command could only be killed. A device reads without end (/dev/zero)
 * or waits for input (/dev/tty), and a socket cannot be opened at all.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';

/** What a path that is not a regular file names, as words for a message ('a FIFO'); null for a regular file. */
export function notRegularKind(stats: Stats): string | null {
  if (stats.isFile()) return null;
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** A path that names something other than a regular file; `kind` says what ('a FIFO'). */
export class NotRegularFileError extends Error {
  constructor(readonly path: string, readonly kind: string) {
    super(`${path}: is ${kind}, not a regular file`);
  }
}

/**
 * Opens a regular file for reading and returns its descriptor; throws NotRegularFileError for
 * anything else, and fs's own error (ENOENT, EACCES…) when the path cannot be opened. The path
 * is looked at with stat first, so that a FIFO or a device is never opened; O_NONBLOCK keeps a
 * FIFO put there between the stat and the open from blocking it too (reads of a regular file
 * ignore the flag), and what was opened is checked again.
 */
export function openRegularFile(path: string): number {
  const kind = notRegularKind(statSync(path));
  if (kind) throw new NotRegularFileError(path, kind);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  const opened = notRegularKind(fstatSync(fd));
  if (opened) {
    closeSync(fd);
    throw new NotRegularFileError(path, opened);
  }
  return fd;
}

/** A regular file's bytes (openRegularFile's refusals and errors). */
export function readRegularFile(path: string): Buffer {
  const fd = openRegularFile(path);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
