/**
 * Checks of a file a command is about to write (a report, a plot): refused before any work is
 * done, each as one line naming the path and what to do, so nothing is half-written.
 */
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../config/errors.js';
import { whyNotWritable } from '../util/make-folder.js';

/** A file path to write: its folder must exist, and the file must not, unless `force` (never a folder). */
export function checkOutputFile(path: string, option: string, force: boolean): void {
  if (path === '' || path.endsWith('/')) throw new UserError(`${option}: expected a file name, found '${path}'`);
  checkParent(path, option);
  if (!existsSync(path) && !isLink(path)) return tryFileIn(dirname(path), path, option);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new UserError({ file: path, message: `${option}: is a folder; give the name of the file to write` });
  // --force replaces a file, never a link, device or pipe (/dev/stdout) with one.
  if (isLink(path) || !statSync(path).isFile()) throw new UserError({ file: path, message: `${option}: is not a regular file; give the name of a file to write` });
  if (!force) throw new UserError({ file: path, message: `${option}: already exists; give another path, or --force to replace it` });
  tryFileIn(dirname(path), path, option);
}

/** A folder to write files into: created if its parent exists. */
export function checkOutputFolder(path: string, option: string): void {
  if (path === '') throw new UserError(`${option}: expected a folder, found an empty string`);
  if (existsSync(path)) {
    if (!statSync(path).isDirectory()) throw new UserError({ file: path, message: `${option}: is a file; give a folder to write the PNG files into` });
    return tryFileIn(path, path, option);
  }
  checkParent(path, option);
  tryMaking(path, option, () => mkdirSync(path), () => rmdirSync(path));
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

const isLink = (path: string) => lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;

/** The folder a path names its file or folder in must exist and be a folder. */
function checkParent(path: string, option: string): void {
  const parent = dirname(resolve(path));
  const stat = statSync(parent, { throwIfNoEntry: false });
  if (!stat) throw new UserError({ file: path, message: `${option}: the folder ${dirname(path)} does not exist; create it first or give another path` });
  if (!stat.isDirectory()) throw new UserError({ file: path, message: `${option}: ${dirname(path)} is not a folder; give another path` });
}
