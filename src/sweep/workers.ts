/**
 * How many trials run at once: what was asked for (or one per core), within the trials to run
 * and the memory free. A pure decision, so that it is tested on any machine.
 */
import { gigabytes } from '../backend/memory.js';

export interface WorkerChoice {
  workers: number;
  /** Lines for the user: the choice was capped, or exceeds the cores. */
  notes: string[];
  /** Why the request cannot be met (a user error), if it cannot. */
  refusal?: string;
}

/** Leave this share of the free memory to everything else. */
const MEMORY_SHARE = 0.9;

export function chooseWorkers(options: {
  requested: number | undefined;
  /** Workers when none are asked for (backend/defaultWorkers). */
  byDefault: number;
  trials: number;
  cores: number;
  freeBytes: number;
  /** The largest worker of the sweep (backend/memory.workerBytes of its heaviest trial). */
  perWorkerBytes: number;
}): WorkerChoice {
  const { requested, byDefault, trials, cores, freeBytes, perWorkerBytes } = options;
  const fit = Math.floor((freeBytes * MEMORY_SHARE) / perWorkerBytes);
  const need = (n: number) => `each worker needs about ${gigabytes(perWorkerBytes)} for this sweep${n > 1 ? ` and ${n} need ${gigabytes(n * perWorkerBytes)}` : ''}, and ${gigabytes(freeBytes)} of memory is free`;
  const wanted = Math.max(1, Math.min(requested ?? byDefault, trials));
  if (fit < 1) {
    return { workers: 0, notes: [], refusal: `${need(1)}; free memory, or lower training.batch_size or the model widths` };
  }
  if (wanted > fit) {
    if (requested !== undefined) return { workers: 0, notes: [], refusal: `--workers ${requested}: ${need(wanted)}; use --workers ${fit} or fewer` };
    return { workers: fit, notes: [`note: running ${fit} worker${fit === 1 ? '' : 's'}, not ${wanted}: ${need(wanted)}`], refusal: undefined };
  }
  const notes = requested !== undefined && wanted > cores
    ? [`note: --workers ${requested} is more than the ${cores} CPU cores here: the trials take turns on them, each slower and none sooner`]
    : [];
  return { workers: wanted, notes };
}
