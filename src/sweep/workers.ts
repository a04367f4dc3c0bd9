/**
 * How many trials run at once: what was asked for (or one per core), within the trials to run,
 * the memory free and the address space the process may map. A pure decision, so that it is
 * tested on any machine.
 */
import { gigabytes } from '../backend/memory.js';

export interface WorkerChoice {
  workers: number;
  /** Lines for the user: the choice was capped, or exceeds the cores. */
  notes: string[];
  /** Why the request cannot be met (a user error), if it cannot. */
  refusal?: string;
  /** Why not even one worker can run here (the machine's limits, not the request), if so. */
  failure?: string;
}

/** The address space this process may map (`ulimit -v`), what it maps now, and what a worker adds. */
export interface AddressSpace {
  limit: number;
  used: number;
  perWorker: number;
  /** What the main thread maps after the check. */
  margin: number;
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
  /** Where the process's address space is limited. */
  addressSpace?: AddressSpace;
  /** What perWorkerBytes was counted for, as the refusal says it. */
  workload?: string;
}): WorkerChoice {
  const { requested, byDefault, trials, cores, freeBytes, perWorkerBytes, addressSpace: space, workload = 'this sweep' } = options;
  const memoryFit = Math.floor((freeBytes * MEMORY_SHARE) / perWorkerBytes);
  const addressFit = space ? Math.floor((space.limit - space.used - space.margin) / space.perWorker) : Infinity;
  const need = (n: number) => `each worker needs about ${gigabytes(perWorkerBytes)} for ${workload}${n > 1 ? ` and ${n} need ${gigabytes(n * perWorkerBytes)}` : ''}, and ${gigabytes(freeBytes)} of memory is free`;
  const addressNeed = (n: number, s: AddressSpace) =>
    `each worker reserves about ${gigabytes(s.perWorker)} of address space (far more than the memory it uses: wasm's guard regions)${n > 1 ? ` and ${n} need ${gigabytes(n * s.perWorker)}` : ''}, ` +
    `and the process's limit (ulimit -v) of ${gigabytes(s.limit)} leaves ${gigabytes(Math.max(0, s.limit - s.used - s.margin))}`;
  const wanted = Math.max(1, Math.min(requested ?? byDefault, trials));
  if (space && addressFit < 1) {
    const needed = space.used + space.margin + space.perWorker;
    return {
      workers: 0,
      notes: [],
      failure: `${addressNeed(1, space)}: one worker needs a limit of at least ${gigabytes(needed)}; raise it (ulimit -v ${Math.ceil(needed / 1024)}) or lift it (ulimit -v unlimited)`,
    };
  }
  if (memoryFit < 1) {
    return { workers: 0, notes: [], refusal: `${need(1)}; free memory, or lower training.batch_size or the model widths` };
  }
  const fit = Math.min(memoryFit, addressFit);
  const why = (n: number) => (space && addressFit < memoryFit ? addressNeed(n, space) : need(n));
  if (wanted > fit) {
    if (requested !== undefined) return { workers: 0, notes: [], refusal: `--workers ${requested}: ${why(wanted)}; use --workers ${fit} or fewer` };
    return { workers: fit, notes: [`note: running ${fit} worker${fit === 1 ? '' : 's'}, not ${wanted}: ${why(wanted)}`], refusal: undefined };
  }
  const notes = requested !== undefined && wanted > cores
    ? [`note: --workers ${requested} is more than the ${cores} CPU cores here: the trials take turns on them, each slower and none sooner`]
    : [];
  return { workers: wanted, notes };
}
