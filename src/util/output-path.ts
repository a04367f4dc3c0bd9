/**
 * Checks of a file a command is about to write (a report, a plot, an image, an export): refused
 * before any work is done, each as one line naming the path and what to do, so nothing is
 * half-written. Every writer goes through checkReplaceable, so the rule of what may be replaced
 * is the same everywhere: a device, FIFO, socket or link never (writing goes through a temporary
 * file renamed into place, and a rename would put a file where /dev/null was), a file or folder
 * only with --force, and for a writer that says so, only its own earlier output. A folder that
 * is replaced whole is never the current folder, the home folder or one above either.
 */
import { closeSync, lstatSync, openSync, readlinkSync, realpathSync, rmSync, statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UserError } from '../config/errors.js';
import type { FullDiskWords } from './disk-full.js';
import { whyNotWritable } from './make-folder.js';
import { pathProblem } from './path-problem.js';

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
  /** What --force replaces, in words for a refusal ('the folder of an earlier tfjs export'); `a file` or `a folder` if not given. */
  replaces?: string;
}

/** A file path to write: its folder must exist, and the file must not, unless `force` (never a folder). */
export function checkOutputFile(path: string, option: string, force: boolean): void {
  checkFileName(path, option);
  checkParent(path, option);
  checkReplaceable(path, option, { force, writes: 'file' });
}

/**
 * A path that names a file: not empty, and not one that can only name a folder (`out/`, `out/.`,
 * `..`). Written as given, `out/` made a file named out, which is not what the slash said.
 */
export function checkFileName(path: string, option: string): void {
  if (path === '' || path.endsWith('/') || basename(path) === '.' || basename(path) === '..') throw new UserError(`${option}: expected a file name, found '${path}'`);
}

/**
 * What is at a path a command writes may be replaced: nothing there, or (with force) a file or
 * folder, whichever the command writes, that is the command's own earlier output if it asks.
 */
export function checkReplaceable(path: string, option: string, rules: ReplaceRules): void {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat) return;
  checkNeverReplaced(path, option, stat, rules);
  if (rules.writes === 'file' && stat.isDirectory()) throw new UserError({ file: path, message: `${option}: is a folder; give the name of the file to write` });
  if (rules.writes === 'folder' && !stat.isDirectory()) throw new UserError({ file: path, message: `${option}: is a file; give the name of the folder to write` });
  // Asked before --force: without it, the refusal would offer a --force that could only fail.
  const place = rules.writes === 'folder' ? workingPlace(path) : undefined;
  if (place) throw new UserError({ file: path, message: `${option}: ${place}; --force never replaces the current folder, the home folder or a folder above either: give a new folder for the output` });
  const notEarlier = rules.notEarlierOutput?.();
  if (notEarlier !== undefined) throw new UserError({ file: path, message: `${option}: ${notEarlier}` });
  if (!rules.force) throw new UserError({ file: path, message: `${option}: already exists; give another path, or --force to replace it` });
}

/**
 * A link, device, FIFO or socket at a path a command writes: refused, --force or not; said as
 * what the command writes there (a file, or a folder) and what --force would replace.
 */
function checkNeverReplaced(path: string, option: string, stat: Stats | undefined, rules: Pick<ReplaceRules, 'writes' | 'replaces'>): void {
  if (!stat || stat.isFile() || stat.isDirectory()) return;
  const link = stat.isSymbolicLink();
  const what = link ? `a link to ${readlinkSync(path)}` : `a ${specialKind(stat)}`;
  const replaces = `--force replaces only ${rules.replaces ?? `a ${rules.writes}`}${link && rules.writes === 'folder' ? ', never a link to one' : ''}`;
  throw new UserError({ file: path, message: `${option}: is ${what}, not a ${rules.writes}; give another path (${replaces})` });
}

/**
 * Why a folder must never be replaced whole, or undefined: the current folder or one above it
 * (the file system's root among them: removing it removes where the command runs, and a rename
 * onto `.` fails with EINVAL once it is gone), the home folder or one above it.
 */
function workingPlace(path: string): string | undefined {
  const real = realpathSync(path);
  const holds = (inner: string) => {
    const rel = relative(real, inner);
    return rel === '' || (rel.split(sep)[0] !== '..' && !isAbsolute(rel));
  };
  const cwd = realpathSync(process.cwd());
  if (real === cwd) return 'is the current folder';
  if (dirname(real) === real) return 'is the root folder';
  if (holds(cwd)) return `holds the current folder (${cwd})`;
  let home: string;
  try {
    home = realpathSync(homedir());
  } catch {
    // A home folder that is not there cannot be lost.
    return undefined;
  }
  if (real === home) return 'is the home folder';
  if (holds(home)) return `holds the home folder (${home})`;
  return undefined;
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
  // Without its trailing slash: stat() of `notes.txt/` fails (ENOTDIR) instead of saying it is a file.
  const stat = statOrNothing(path.replace(/(.)\/+$/, '$1'), path, option);
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
  const stat = statOrNothing(parent, path, option);
  if (!stat) throw new UserError({ file: path, message: `${option}: the folder ${dirname(path)} does not exist; create it first or give another path` });
  if (!stat.isDirectory()) throw new UserError({ file: path, message: `${option}: ${dirname(path)} is not a folder; give another path` });
  tryFileIn(parent, path, option);
}

/**
 * What is at `at` (links followed), or undefined when nothing is. A path under a file
 * (`notes.txt/x`: ENOTDIR), a loop of links or a folder this user may not look in is refused
 * as one line about `path`, the option's value: fs's "ENOTDIR: not a directory, stat" was exit 1.
 */
function statOrNothing(at: string, path: string, option: string): Stats | undefined {
  try {
    return statSync(at);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError({ file: path, message: `${option}: ${whyNotWritable(err) ?? pathProblem(err, 'folder')}; give another path` });
  }
}

/**
 * What a full disk under a command's output says (util/disk-full.ts): that nothing was written
 * (its writers write whole or not at all), and to make room or write elsewhere. `data`: what was
 * to be written, for the room it needed.
 */
export function outputFull(path: string, data: Uint8Array[], option = '--out'): FullDiskWords {
  return { path, needed: data.reduce((n, d) => n + d.byteLength, 0), fix: `nothing was written; free some space there, or give another ${option}` };
}
