/**
 * A trained model named on the command line (`ID|best [--sweep NAME] [--epoch best|last]`), read
 * from its checkpoint: for export, predict and evaluate. Every way the name can miss is one line
 * saying what to give instead; a checkpoint that fails its checksum is never loaded.
 */
import type Database from 'better-sqlite3';
import { dirname, join } from 'node:path';
import { CheckpointError, type Checkpoint } from '../checkpoint/format.js';
import { checkCheckpointRoot, checkpointRoot, readCheckpoint } from '../checkpoint/files.js';
import { UserError } from '../config/errors.js';
import { bestOf, noBestText, statusCounts } from '../store/best.js';
import { findTrial, iterateTrials, requireSweep, sweepNames, trialProvenance, type TrialRecord } from '../store/queries.js';
import { whyNone } from './no-checkpoint.js';
import { initBackend } from '../backend/index.js';
import { evaluationChunk } from '../backend/memory.js';
import { gather, loadDataset, type Dataset } from '../data/dataset.js';
import { prepareDataset, splitOptions } from '../data/sources.js';
import { filesUnchanged } from '../data/file-checksums.js';
import { classesOfCheckpoint, modelFromCheckpoint } from './restore.js';
import { namesOfRecord } from '../data/class-names.js';
import type { PixelStats } from '../data/pixel-stats.js';
import type { LeNet } from './lenet.js';
import { withReadOnly } from '../store/open.js';
import { evaluate } from '../train/evaluate.js';

export type EpochChoice = 'best' | 'last';

export interface TrainedModel {
  trial: TrialRecord;
  /** The checkpoint's epoch, and which the user asked for. */
  epoch: number;
  choice: EpochChoice;
  /** The epoch asked for, when its checkpoint was damaged and an older one is used instead. */
  passedOver?: number;
  checkpoint: Checkpoint;
  /** What was passed over on the way (a damaged checkpoint), for the user to hear. */
  notes: string[];
  /** What the trial recorded to reproduce it (sweep/provenance.ts). */
  provenance: unknown;
  /** Its classes' names, label 0's first (the class numbers for a trial recorded before names were). */
  classes: string[];
  /** What its images were normalised with: (pixel / 255 − mean) / std. */
  normalisation: PixelStats;
}

/**
 * The normalisation a trial trained with: the numbers its record keeps (the training pixels' own
 * where its file said auto), else its config's.
 */
function normalisationOfRecord(provenance: unknown, trial: TrialRecord): PixelStats {
  const kept = (provenance as { dataset?: { normalisation?: Partial<PixelStats> } } | null)?.dataset?.normalisation;
  if (typeof kept?.mean === 'number' && typeof kept.std === 'number') return { mean: kept.mean, std: kept.std };
  const { mean, std } = trial.config.data;
  if (mean === 'auto' || std === 'auto') throw new UserError(`trial ${trial.id}'s data section says data.mean/std: auto, but its record keeps no numbers for them; train it again to use it`);
  return { mean, std };
}

/** loadTrainedModel on a read-only connection to the database at `dbPath`, closed at once. */
export function readTrainedModel(dbPath: string, ref: string, options: { sweep?: string; epoch: EpochChoice }): TrainedModel {
  return withReadOnly(dbPath, (db) => loadTrainedModel(db, dbPath, ref, options));
}

/** What a trial's record keeps of its prepared dataset (sweep/provenance.ts); parts may be missing in an older record. */
interface RecordedDataset {
  dir?: string;
  sha256?: Record<string, string>;
  skipBad?: boolean;
}

/**
 * The trial's own dataset as it trained on it, normalised with the numbers its record keeps: the
 * prepared files its record names while they are the ones it trained on (checksums), whatever
 * became of the images they were made from; else prepared again from its data section as its
 * record says (images --skip-bad left out, left out again), with a note where that gives files
 * other than the trial's.
 */
export async function trainedData(m: TrainedModel): Promise<{ data: Dataset; notes: string[] }> {
  const { config } = m.trial;
  const recorded = (m.provenance as { dataset?: RecordedDataset } | null)?.dataset ?? {};
  const load = (dir: string) => loadDataset(dir, { ...splitOptions(config), ...m.normalisation });
  if (recorded.dir && recorded.sha256 && filesUnchanged(recorded.dir, recorded.sha256)) return { data: load(recorded.dir), notes: [] };
  const { dir } = await prepareDataset(config.data, { skipBad: recorded.skipBad === true });
  const changed = recorded.sha256 !== undefined && !filesUnchanged(dir, recorded.sha256);
  const notes = changed ? [`trial ${m.trial.id}'s data has changed since it trained (its prepared files are gone or differ): these figures are of the data as it is now, not of the images it was tested on`] : [];
  return { data: load(dir), notes };
}

/**
 * The model on its trial's test split (accuracy, loss, confusion matrix), on wasm in this
 * process; with `calibration`, that many training images too (normalised, NHWC).
 */
export async function evaluateTrained(m: TrainedModel, calibration = 0) {
  const { config } = m.trial;
  const { data, notes } = await trainedData(m);
  const result = await withModel(m, data, (net) => evaluate(net, data, data.test, evaluationChunk(config.model, data.height), true));
  const count = Math.min(calibration, data.train.count);
  return {
    test: { ...(result as { acc: number; loss: number; confusion: number[][] }), images: data.test.count },
    calibration: count ? { images: gather(data, data.train, null, 0, count).images, count } : undefined,
    provenance: m.provenance,
    notes,
  };
}

/** Runs `use` on the trained model, built on wasm, after checking the data fits it. */
export async function withModel<T>(m: TrainedModel, data: Pick<Dataset, 'height'> | null, use: (net: LeNet) => Promise<T>): Promise<T> {
  if (data && data.height !== m.checkpoint.inputSize) {
    throw new UserError(`--data: trial ${m.trial.id}'s model takes ${m.checkpoint.inputSize}×${m.checkpoint.inputSize} images; these are ${data.height}×${data.height}: give a dataset of its size (a folder of images is made into digits of its size)`);
  }
  // Inference in this process needs no GPU: wasm gives the trial's numbers without loading Dawn.
  await initBackend('wasm', { gpu: false });
  const net = modelFromCheckpoint(m.trial.config, m.checkpoint);
  try {
    return await use(net);
  } finally {
    net.dispose();
  }
}

export function epochChoice(value: string | undefined): EpochChoice {
  if (value === undefined || value === 'last' || value === 'best') return value ?? 'last';
  throw new UserError(`--epoch: expected best or last, found '${value}'`);
}

/** The trial `ref` names: an id (or a prefix of 4+ characters), or `best`: the sweep's best trial (store/best.ts). */
export function namedTrial(db: Database.Database, ref: string, sweep: string | undefined): TrialRecord {
  if (ref !== 'best') return findTrial(db, ref);
  if (sweep === undefined) {
    const names = sweepNames(db);
    if (names.length === 0) throw new UserError('best: the database has no sweep yet; run one with sweep FILE');
    if (names.length > 1) throw new UserError(`best: of which sweep? give --sweep NAME (sweeps: ${names.join(', ')})`);
    sweep = names[0];
  }
  requireSweep(db, sweep);
  const best = bestOf(iterateTrials(db, { sweep, statuses: ['completed'] }));
  if (best) return best;
  throw new UserError(`best: ${noBestText(sweep, statusCounts(db, sweep))}`);
}

/** Loads the model of a trial at its best or last epoch from its checkpoint. */
export function loadTrainedModel(db: Database.Database, dbPath: string, ref: string, options: { sweep?: string; epoch: EpochChoice }): TrainedModel {
  const trial = namedTrial(db, ref, options.sweep);
  const rows = db.prepare(`SELECT epoch, path FROM checkpoint_records WHERE trial_id = ? ORDER BY epoch DESC`).all(trial.id) as { epoch: number; path: string }[];
  if (!rows.length) throw new UserError(`trial ${trial.id} has no checkpoint: ${whyNone(db, trial)}`);
  const wanted = options.epoch === 'best' ? trial.best_epoch : trial.epochs;
  if (wanted === null || !rows.some((r) => r.epoch === wanted)) {
    const kept = rows.map((r) => r.epoch).join(', ');
    throw new UserError(
      `trial ${trial.id} has no checkpoint of its ${options.epoch} epoch${wanted === null ? '' : ` (${wanted})`}; it keeps epoch${rows.length > 1 ? 's' : ''} ${kept}` +
        (options.epoch === 'last' ? ' (trained with --keep best); use --epoch best' : ''),
    );
  }
  // The one asked for; if it is damaged, the newest intact one before it (said, never loaded).
  const notes: string[] = [];
  const root = checkpointRoot(dbPath);
  checkCheckpointRoot(root);
  for (const row of rows.filter((r) => r.epoch <= wanted)) {
    try {
      const checkpoint = readCheckpoint(root, trial.id, row.epoch);
      const provenance = trialProvenance(db, trial.id);
      return {
        trial,
        epoch: row.epoch,
        choice: options.epoch,
        ...(row.epoch !== wanted ? { passedOver: wanted } : {}),
        checkpoint,
        notes,
        provenance,
        classes: namesOfRecord(provenance, classesOfCheckpoint(checkpoint)),
        normalisation: normalisationOfRecord(provenance, trial),
      };
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      notes.push(`the checkpoint of epoch ${row.epoch} of trial ${trial.id} (${join(dirname(dbPath), row.path)}) cannot be used: ${err.message}`);
    }
  }
  throw new UserError(`trial ${trial.id}: ${notes.join('; ')}; no intact checkpoint is left at or before epoch ${wanted}`);
}
