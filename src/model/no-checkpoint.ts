/** Why a trial has no checkpoint, for runs show and the model commands (no tfjs loaded here). */
import type Database from 'better-sqlite3';
import { trialProvenance, type TrialRecord } from '../store/queries.js';

export function whyNone(db: Database.Database, trial: TrialRecord): string {
  const provenance = trialProvenance(db, trial.id);
  if (trial.status === 'queued') return 'it has not been trained yet';
  if (trial.status === 'running' && trial.epochs === 0) return 'it has not finished its first epoch yet';
  if (provenance === null && trial.epochs > 0) return 'it was trained by a lenet-sweep without checkpoints; train it again with sweep FILE --rerun';
  if (trial.epochs === 0) return `it ${trial.status === 'failed' ? 'failed' : 'ended'} before its first epoch${trial.error ? ` (${trial.error})` : ''}`;
  return 'its files were removed';
}
