/**
 * What it takes to reproduce a trial, recorded when it starts: the experiment file's content
 * hash (and its git commit, and whether the work tree had uncommitted changes, when the file is
 * in a git repository), or an inline experiment's; the dataset files' checksums (kept between
 * runs while the files are unchanged: data/file-checksums.ts), its classes' names and the
 * normalisation it trained with (which predict and the exports read), the versions of what trained it,
 * and the backend. Computed once per run and per dataset.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { InlineExperiment } from '../config/compose.js';
import { IDX_FILES, findFile } from '../data/dataset.js';
import { fileChecksum } from '../data/file-checksums.js';
import { normalisation, type PixelStats } from '../data/pixel-stats.js';
import type { PreparedDataset } from '../data/sources.js';
import type { Experiment } from '../config/experiment.types.js';

export interface GitState {
  commit: string;
  /** Whether the work tree had uncommitted changes to tracked files (or the file itself was untracked). */
  dirty: boolean;
  /** The experiment file's path in the repository. */
  path: string;
}

export interface Provenance {
  file: { path: string; sha256: string; git: GitState | null };
  dataset: DatasetRecord & { sha256: Record<string, string> };
  versions: Record<string, string>;
  backend: string;
  /** Trained by an agent: the queue (its URL without a password) and the agent's name. */
  queue?: string;
  agent?: string;
  /** The other trials of its group, trained as one computation with it (fused trials); absent when it trained alone. */
  beside?: string[];
}

/** What a trial's record keeps of its dataset, besides its files' checksums. */
export interface DatasetRecord {
  name: string;
  dir: string;
  /** The classes' names, label 0's first: what readers of the trial call its outputs (class-names.ts). */
  classes: string[];
  /** What its images were normalised with: the training pixels' own where its file says auto. */
  normalisation: PixelStats;
  /** Prepared with --skip-bad (images that do not decode left out): so its readers prepare it too. */
  skipBad?: true;
}

/** The record of a trial's dataset, prepared: the names and the normalisation its readers need without the data. */
export function datasetRecord(data: Experiment['data'], prepared: PreparedDataset): DatasetRecord {
  return {
    name: data.dataset,
    dir: prepared.dir,
    classes: prepared.classes,
    normalisation: normalisation(data, () => prepared.trainingPixels),
    ...(prepared.skipBad ? { skipBad: true as const } : {}),
  };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The file's git state, or null outside a repository (or without git). */
export function gitState(file: string): GitState | null {
  const git = (...args: string[]) => execFileSync('git', ['-C', dirname(resolve(file)), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const commit = git('rev-parse', 'HEAD');
    const path = git('ls-files', '--full-name', '--', basename(file));
    const changes = git('status', '--porcelain', '--untracked-files=no');
    return { commit, dirty: changes !== '' || path === '', path: path || git('rev-parse', '--show-prefix') + basename(file) };
  } catch {
    return null;
  }
}

/** Each of a dataset folder's IDX files by name, with its checksum. */
export function datasetChecksums(dir: string): Record<string, string> {
  const sums: Record<string, string> = {};
  for (const name of IDX_FILES.flat()) {
    const path = findFile(dir, name);
    sums[basename(path)] = fileChecksum(path);
  }
  return sums;
}

/**
 * Builds each trial's provenance from what is the same for the whole run. An inline experiment
 * (the API's) is recorded by its label and the checksum of its value as JSON, outside git.
 */
export function provenanceOf(from: string | InlineExperiment, versions: Record<string, string>): (dataset: DatasetRecord, backend: string) => Provenance {
  const recorded =
    typeof from === 'string'
      ? { path: resolve(from), sha256: sha256(readFileSync(from)), git: gitState(from) }
      : { path: from.label, sha256: sha256(Buffer.from(JSON.stringify(from.value))), git: null };
  const sums = new Map<string, Record<string, string>>();
  return (dataset, backend) => {
    if (!sums.has(dataset.dir)) sums.set(dataset.dir, datasetChecksums(dataset.dir));
    return { file: recorded, dataset: { ...dataset, sha256: sums.get(dataset.dir)! }, versions, backend };
  };
}
