/**
 * Checks of a file a command is about to write (a report, a plot, an image, an export): refused
 * before any work is done, each as one line naming the path and what to do, so nothing is
 * half-written. Every writer goes through checkReplaceable, so the rule of what may be replaced
 * is the same everywhere: a device, FIFO, socket or link never (writing goes through a temporary
 * file renamed into place, and a rename would put a file where /dev/null was), a file or folder
 * only with --force, and for a writer that says so, only its own earlier output.
 */
import { closeSync, lstatSync, openSync, readlinkSync, rmSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../config/errors.js';
import type { FullDiskWords } from '../util/disk-full.js';
import { whyNotWritable } from '../util/make-folder.js';

export interface ReplaceRules {
  /** Replace what is there (the command's --force). */
  force: boolean;
  /** What the command writes at the path: a file, or a folder of files (a tfjs export). */
  writes: 'file' | 'folder';
  /**
   * For a writer that replaces only its own earlier output: why what is at the path is not one
   * (the rest of the message, after the option), or undefined when it is. Asked even without
   * --force, so the message does not offer a --force that would be refused.
   */
  notEarlierOutput?: () => string | undefined;
}

/** A file path to write: its folder must exist, and the file must not, unless `force` (never a folder). */
export function checkOutputFile(path: string, option: string, force: boolean): void {
  if (path === '' || path.endsWith('/')) throw new UserError(`${option}: expected a file name, found '${path}'`);
  checkParent(path, option);
  checkReplaceable(path, option, { force, writes: 'file' });
}

/**
 * What is at a path a command writes may be replaced: nothing there, or (with force) a file or
 * folder, whichever the command writes, that is the command's own earlier output if it asks.
 */
export function checkReplaceable(path: string, option: string, rules: ReplaceRules): void {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat) return;
  checkNeverReplaced(path, option, stat);
  if (rules.writes === 'file' && stat.isDirectory()) throw new UserError({ file: path, message: `${option}: is a folder; give the name of the file to write` });
  if (rules.writes === 'folder' && !stat.isDirectory()) throw new UserError({ file: path, message: `${option}: is a file; give the name of the folder to write` });
  const notEarlier = rules.notEarlierOutput?.();
  if (notEarlier !== undefined) throw new UserError({ file: path, message: `${option}: ${notEarlier}` });
  if (!rules.force) throw new UserError({ file: path, message: `${option}: already exists; give another path, or --force to replace it` });
}

/** A link, device, FIFO or socket at a path a command writes: refused, --force or not. */
export function checkNeverReplaced(path: string, option: string, stat = lstatSync(path, { throwIfNoEntry: false })): void {
  if (!stat || stat.isFile() || stat.isDirectory()) return;
  const what = stat.isSymbolicLink() ? `a link to ${readlinkSync(path)}` : `a ${specialKind(stat)}`;
  throw new UserError({ file: path, message: `${option}: is ${what}, not a file; give another path (--force replaces only a file)` });
}

/** What a path that is neither a file, a folder nor a link is, in words. */
export function specialKind(stat: Stats): string {
  if (stat.isCharacterDevice()) return 'character device';
  if (stat.isBlockDevice()) return 'block device';
  if (stat.isFIFO()) return 'FIFO (named pipe)';
  if (stat.isSocket()) return 'socket';
  return 'special file';
}

/** A folder to write files into: created if its parent exists. */
export function checkOutputFolder(path: string, option: string): void {
  if (path === '') throw new UserError(`${option}: expected a folder, found an empty string`);
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat) {
    if (!stat.isDirectory()) throw new UserError({ file: path, message: `${option}: is ${stat.isFile() ? 'a file' : `a ${specialKind(stat)}`}; give a folder to write the PNG files into` });
    return tryFileIn(path, path, option);
  }
  checkParent(path, option);
}

/** Whether a file can be made in `folder` (for `path`): one of our own is made there and removed. */
function tryFileIn(folder: string, path: string, option: string): void {
  const probe = join(folder, `.${basename(path)}.${process.pid}.probe`);
  tryMaking(path, option, () => closeSync(openSync(probe, 'wx')), () => rmSync(probe));
}

/**
 * Makes something where the output will go and removes it at once: only trying tells. access()
 * says root may write in /proc, where nothing can be made (ENOENT), and /sys refuses even root;
 * found out after the work, it was fs's words and exit 1.
 */
function tryMaking(path: string, option: string, make: () => void, remove: () => void): void {
  try {
    make();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Made meanwhile by someone else: the place takes new entries, and the entry is not ours to remove.
    if (e.code === 'EEXIST') return;
    const why = e.code === 'ENOENT' ? `nothing can be made in ${dirname(e.path ?? path)}` : (whyNotWritable(err) ?? e.message);
    throw new UserError({ file: path, message: `${option}: cannot be written (${why}); give another path` });
  }
  remove();
}

/** The folder a path names its file or folder in must exist, be a folder, and take new files. */
export function checkParent(path: string, option: string): void {
  const parent = dirname(resolve(path));
  const stat = statSync(parent, { throwIfNoEntry: false });
  if (!stat) throw new UserError({ file: path, message: `${option}: the folder ${dirname(path)} does not exist; create it first or give another path` });
  if (!stat.isDirectory()) throw new UserError({ file: path, message: `${option}: ${dirname(path)} is not a folder; give another path` });
  tryFileIn(parent, path, option);
}

/**
 * What a full disk under a command's output says (util/disk-full.ts): that nothing was written
 * (its writers write whole or not at all), and to make room or write elsewhere. `data`: what was
 * to be written, for the room it needed.
 */
export function outputFull(path: string, data: Uint8Array[], option = '--out'): FullDiskWords {
  return { path, needed: data.reduce((n, d) => n + d.byteLength, 0), fix: `nothing was written; free some space there, or give another ${option}` };
}
