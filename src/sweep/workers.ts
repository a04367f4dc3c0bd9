/**
 * How many trials run at once: what was asked for (or one per core), within the trials to run,
 * the memory free, and the limits set on the process (`ulimit -v`, `ulimit -n`). A pure
 * decision, so that it is tested on any machine.
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

/** A limit set on the process (a ulimit), what the process uses of it now, and what each worker adds. */
export interface ProcessLimit {
  /** What is limited, as said after an amount of it: '(11 GB) of address space', '(20) open files'. */
  what: string;
  /** The shell's setting: 'ulimit -v'. */
  setting: string;
  limit: number;
  used: number;
  /** What the main thread takes of it after the check. */
  margin: number;
  perWorker: number;
  /** An amount of it as people read it ('11 GB', '40'), and as the setting takes it (KiB for ulimit -v). */
  text: (amount: number) => string;
  settingValue: (amount: number) => number;
  /** A limit to suggest for an amount needed: rounded up with room to spare, since what the process maps moves a little from run to run. */
  suggest: (amount: number) => number;
  /** A suggested limit as people read it ('12.4 GB'). */
  suggestText: (amount: number) => string;
  /** Why a worker takes as much as it does, where that is a surprise. */
  why?: string;
  /** Whether the setting can be lifted altogether (`ulimit -v unlimited`). */
  canLift: boolean;
}

/** Leave this share of the free memory to everything else. */
const MEMORY_SHARE = 0.9;

/** The address space ulimit -v leaves, in its units. */
export function addressSpaceLimit(limit: number, used: number, perWorker: number, margin: number): ProcessLimit {
  return {
    what: 'of address space',
    setting: 'ulimit -v',
    limit,
    used,
    margin,
    perWorker,
    text: gigabytes,
    settingValue: (bytes) => Math.ceil(bytes / 1024),
    suggest: (bytes) => Math.ceil((bytes + 0.1e9) / 0.1e9) * 0.1e9,
    suggestText: (bytes) => `${(bytes / 1e9).toFixed(1)} GB`,
    why: "far more than the memory it uses: wasm's guard regions",
    canLift: true,
  };
}

/** The open files ulimit -n leaves. */
export function openFilesLimit(limit: number, used: number, perWorker: number, margin: number): ProcessLimit {
  return {
    what: 'open files',
    setting: 'ulimit -n',
    limit,
    used,
    margin,
    perWorker,
    text: (n) => String(Math.ceil(n)),
    settingValue: (n) => n,
    // The usual default, or what is needed where that is more.
    suggest: (n) => Math.max(1024, Math.ceil(n)),
    suggestText: (n) => String(Math.ceil(n)),
    canLift: false,
  };
}

/** How many workers a limit holds. */
const holds = (l: ProcessLimit) => Math.floor((l.limit - l.used - l.margin) / l.perWorker);

/** "each worker needs about 11 GB of address space (…) and 2 need 22 GB, and the process's limit (ulimit -v) of 16 GB leaves 15 GB" */
function limitText(l: ProcessLimit, n: number): string {
  return (
    `each worker needs about ${l.text(l.perWorker)} ${l.what}${l.why ? ` (${l.why})` : ''}${n > 1 ? ` and ${n} need ${l.text(n * l.perWorker)}` : ''}, ` +
    `and the process's limit (${l.setting}) of ${l.text(l.limit)} leaves ${l.text(Math.max(0, l.limit - l.used - l.margin))}`
  );
}

export function chooseWorkers(options: {
  requested: number | undefined;
  /** Workers when none are asked for (backend/defaultWorkers). */
  byDefault: number;
  trials: number;
  cores: number;
  freeBytes: number;
  /** The largest worker of the sweep (backend/memory.workerBytes of its heaviest trial). */
  perWorkerBytes: number;
  /** The limits set on the process that workers take from. */
  limits?: ProcessLimit[];
  /** What perWorkerBytes was counted for, as the refusal says it. */
  workload?: string;
}): WorkerChoice {
  const { requested, byDefault, trials, cores, freeBytes, perWorkerBytes, limits = [], workload = 'this sweep' } = options;
  const memoryFit = Math.floor((freeBytes * MEMORY_SHARE) / perWorkerBytes);
  const need = (n: number) => `each worker needs about ${gigabytes(perWorkerBytes)} for ${workload}${n > 1 ? ` and ${n} need ${gigabytes(n * perWorkerBytes)}` : ''}, and ${gigabytes(freeBytes)} of memory is free`;
  const wanted = Math.max(1, Math.min(requested ?? byDefault, trials));
  const blocking = limits.find((l) => holds(l) < 1);
  if (blocking) {
    const needed = blocking.used + blocking.margin + blocking.perWorker;
    const suggested = blocking.suggest(needed);
    return {
      workers: 0,
      notes: [],
      failure:
        `${limitText(blocking, 1)}: one worker needs a limit of at least ${blocking.suggestText(needed)}; ` +
        `raise it (${blocking.setting} ${blocking.settingValue(suggested)})${blocking.canLift ? ` or lift it (${blocking.setting} unlimited)` : ''}`,
    };
  }
  if (memoryFit < 1) {
    return { workers: 0, notes: [], refusal: `${need(1)}; free memory, or lower training.batch_size or the model widths` };
  }
  // The tightest bound says why.
  const tightest = limits.reduce<ProcessLimit | undefined>((a, l) => (holds(l) < (a ? holds(a) : memoryFit) ? l : a), undefined);
  const fit = tightest ? holds(tightest) : memoryFit;
  const why = (n: number) => (tightest ? limitText(tightest, n) : need(n));
  if (wanted > fit) {
    if (requested !== undefined) return { workers: 0, notes: [], refusal: `--workers ${requested}: ${why(wanted)}; use --workers ${fit} or fewer` };
    return { workers: fit, notes: [`note: running ${fit} worker${fit === 1 ? '' : 's'}, not ${wanted}: ${why(wanted)}`], refusal: undefined };
  }
  const notes = requested !== undefined && wanted > cores
    ? [`note: --workers ${requested} is more than the ${cores} CPU cores here: the trials take turns on them, each slower and none sooner`]
    : [];
  return { workers: wanted, notes };
}
