/**
 * Where checkpoints live and how they are written and found. Beside the database: runs/runs.db
 * keeps its trials' checkpoints in runs/runs.db.checkpoints/<trial id>/epoch-0003.ckpt. A file is
 * written whole or not at all (a temporary file, flushed to the disk, renamed into place, and
 * the folder flushed so the rename itself survives a power cut).
 */
import { closeSync, fstatSync, fsyncSync, type Dirent, lstatSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../config/errors.js';
import { makeFolder, unmakeFolders } from '../util/make-folder.js';
import { folderProblem, statProblem } from '../util/path-problem.js';
import { CheckpointError, DIGEST_BYTES, decodeCheckpoint, storedDigest, type Checkpoint } from './format.js';

/**
 * The folder of a database's checkpoints: its whole file name and `.checkpoints`
 * (runs/runs.db → runs/runs.db.checkpoints), so that databases named alike (runs.db,
 * runs.sqlite) never share one.
 */
export function checkpointRoot(dbPath: string): string {
  return join(dirname(dbPath), `${basename(dbPath)}.checkpoints`);
}

/**
 * Refuses a checkpoints folder that is something else (a file, a FIFO, a link to nothing): found
 * only when the first trial starts, it failed the sweep with fs's ENOTDIR after the database
 * had marked it running. Nothing there is fine: the first checkpoint makes the folder.
 */
export function checkCheckpointRoot(root: string): void {
  if (statProblem(root, lstatSync) !== null) return;
  const problem = folderProblem(root);
  if (problem) throw new UserError({ file: root, message: `${problem}; the database keeps its trials' checkpoints in this folder: move it away, or choose another --db` });
}

export const trialFolder = (root: string, trialId: string) => join(root, trialId);

export const checkpointName = (epoch: number) => `epoch-${String(epoch).padStart(4, '0')}.ckpt`;

const NAME = /^epoch-(\d+)\.ckpt$/;

/** A checkpoint as the database records it: the path relative to the database's folder. */
export interface CheckpointFile {
  epoch: number;
  path: string;
  bytes: number;
  sha256: string;
}

/** The path the database records for a checkpoint: from the database's folder. */
export function recordedPath(root: string, trialId: string, epoch: number): string {
  return join(basename(root), trialId, checkpointName(epoch));
}

/** Writes a checkpoint atomically and durably; returns what the database records of it. */
export function writeCheckpointFile(root: string, trialId: string, epoch: number, bytes: Uint8Array): CheckpointFile {
  const folder = trialFolder(root, trialId);
  // Never the database's folder: removed while the sweep runs, it stays removed (the sweep ends
  // on finding its database gone) rather than coming back holding this checkpoint alone.
  const made = makeFolder(folder, dirname(root));
  const path = join(folder, checkpointName(epoch));
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    // A full disk leaves neither part of the file nor a trial folder made for it.
    rmSync(tmp, { force: true });
    unmakeFolders(made);
    throw err;
  }
  syncFolder(folder);
  return { epoch, path: recordedPath(root, trialId, epoch), bytes: bytes.length, sha256: storedDigest(bytes) };
}

function syncFolder(folder: string): void {
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems cannot flush a folder; the rename is as durable as they make it.
  } finally {
    closeSync(fd);
  }
}

/** The epochs a trial has checkpoint files for, newest first (temporary files are not checkpoints). */
export function checkpointEpochs(root: string, trialId: string): number[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(trialFolder(root, trialId), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isFile() && NAME.test(e.name) ? [Number(NAME.exec(e.name)![1])] : [])).sort((a, b) => b - a);
}

export interface Damaged {
  epoch: number;
  reason: string;
}

export interface ResumePoint {
  checkpoint: Checkpoint;
  /** Every checkpoint file the trial has that was not found damaged, newest first. */
  files: CheckpointFile[];
  /** Newer files that failed their check, which were passed over (renamed to NAME.damaged, kept for a look). */
  damaged: Damaged[];
}

/**
 * The newest intact checkpoint of a trial, or null when it has none. A file that fails its
 * checksum (a disk fault: renames are atomic, so no crash tears one), or is of another format
 * version, is never loaded: it is reported, renamed aside (`.damaged`, nothing is deleted),
 * and the one before it taken.
 */
export function findResumePoint(root: string, trialId: string): ResumePoint | null {
  removeTemporaryFiles(trialFolder(root, trialId));
  const damaged: Damaged[] = [];
  for (const epoch of checkpointEpochs(root, trialId)) {
    let checkpoint: Checkpoint;
    try {
      checkpoint = readCheckpoint(root, trialId, epoch);
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      damaged.push({ epoch, reason: err.message });
      const path = join(trialFolder(root, trialId), checkpointName(epoch));
      renameSync(path, `${path}.damaged`);
      continue;
    }
    const files = checkpointFiles(root, trialId, checkpointEpochs(root, trialId));
    return { checkpoint, files, damaged };
  }
  return null;
}

/** What the database records of some of a trial's checkpoint files (they exist). */
export function checkpointFiles(root: string, trialId: string, epochs: number[]): CheckpointFile[] {
  return epochs.map((e) => describe(root, trialId, e));
}

/** Temporary files a killed writer left (no writer is at work on a trial about to start). */
function removeTemporaryFiles(folder: string): void {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return;
  }
  for (const n of names) if (n.endsWith('.tmp')) rmSync(join(folder, n), { force: true });
}

/** What the database records of a file: its size and the digest it ends with (read from its end only). */
function describe(root: string, trialId: string, epoch: number): CheckpointFile {
  const fd = openSync(join(trialFolder(root, trialId), checkpointName(epoch)), 'r');
  try {
    const bytes = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(bytes, DIGEST_BYTES));
    readSync(fd, tail, 0, tail.length, bytes - tail.length);
    return { epoch, path: recordedPath(root, trialId, epoch), bytes, sha256: tail.toString('hex') };
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads one checkpoint of a trial, checked: its checksum, and that it holds that trial's epoch.
 * Throws CheckpointError (saying why, without the path) when it is missing, damaged or another's.
 */
export function readCheckpoint(root: string, trialId: string, epoch: number): Checkpoint {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(trialFolder(root, trialId), checkpointName(epoch)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointError('the file is missing');
    throw err;
  }
  const checkpoint = decodeCheckpoint(bytes);
  if (checkpoint.trialId !== trialId || checkpoint.epoch !== epoch) throw new CheckpointError(`it holds epoch ${checkpoint.epoch} of trial ${checkpoint.trialId}`);
  return checkpoint;
}

export function removeCheckpoints(root: string, trialId: string, epochs: number[]): void {
  for (const e of epochs) rmSync(join(trialFolder(root, trialId), checkpointName(e)), { force: true });
}

/** A trial that starts again from its first epoch leaves no checkpoint of an earlier attempt. */
export function removeTrialCheckpoints(root: string, trialId: string): void {
  rmSync(trialFolder(root, trialId), { recursive: true, force: true });
}
