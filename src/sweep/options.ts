/**
 * A sweep's options (session-types.ts SweepOptions) checked and completed with their defaults.
 * Problems name each option as the command line spells it (--keep for keep): the options are the
 * command's, and the command reads its flags into them with these same checks, in this order.
 */
import { AUTO_ORDER, type BackendChoice } from '../backend/choice.js';
import { DEFAULT_KEEP, KEEP_POLICIES, type KeepPolicy } from '../checkpoint/retention.js';
import { UserError } from '../config/errors.js';
import { didYouMean } from '../config/suggest.js';
import { parseQueueUrl, type QueueUrl } from '../queue/url.js';
import { DEFAULT_DB } from '../store/paths.js';
import type { SweepOptions } from './session-types.js';

const BACKENDS: BackendChoice[] = ['auto', ...AUTO_ORDER];

export function backendOption(value: string | undefined): BackendChoice | undefined {
  if (value === undefined) return undefined;
  if (!BACKENDS.includes(value as BackendChoice)) throw new UserError(`--backend: expected one of ${BACKENDS.join(', ')}, found '${value}'`);
  return value as BackendChoice;
}

export function keepOption(value: string): KeepPolicy {
  if (!KEEP_POLICIES.includes(value as KeepPolicy)) throw new UserError(`--keep: expected one of ${KEEP_POLICIES.join(', ')}, found '${value}'`);
  return value as KeepPolicy;
}

/**
 * The most trials one group may hold: the experiment schema's maximum of sweep.fuse
 * (schemas/experiment.schema.json), held to on the command line and from code too, so that a K
 * the file refuses is not taken from --fuse.
 */
export const MAX_FUSE = 64;

/** --fuse K: the most trials trained as one computation, a whole number from 1 to MAX_FUSE. */
export function fuseOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw fuseRefused(value);
  return checkFuse(Number(value), value);
}

/** A K given as a number (--fuse read, or the API's fuse): `shown` is how it was written. */
function checkFuse(k: number, shown: string): number {
  // A whole number past 64 gets the limit, however many digits it has (twenty read as 1e20).
  if (!Number.isInteger(k) || k < 1) throw fuseRefused(shown);
  if (k > MAX_FUSE) throw new UserError(`--fuse: at most ${MAX_FUSE} trials train as one (as sweep.fuse in a file), found ${shown}; use --fuse ${MAX_FUSE} or fewer`);
  return k;
}

const fuseRefused = (shown: string) => new UserError(`--fuse: expected a positive integer (1 trains each trial alone), found '${shown}'`);

/** A whole number of at least 0. */
export function countOption(value: string, name: string): number {
  if (!/^\d+$/.test(value)) throw new UserError(`--${name}: expected a whole number (0 or more), found '${value}'`);
  return Number(value);
}

/** The options with their defaults; the queue's URL read. */
export interface CheckedOptions {
  db: string;
  workers: number | undefined;
  /** --fuse, where given. */
  fuse: number | undefined;
  keep: KeepPolicy;
  retries: number;
  backend: BackendChoice | undefined;
  gpus: string | undefined;
  queue: QueueUrl | undefined;
  rerun: boolean;
  overrides: { set: string[]; grid: string[] };
  yes: boolean;
  skipBad: boolean;
  signal: AbortSignal | undefined;
}

/** Each option's type, for options given from code (the command line's are strings it reads first). */
const OPTION_TYPES: Record<keyof SweepOptions, 'string' | 'number' | 'boolean' | 'strings' | 'signal'> = {
  db: 'string',
  workers: 'number',
  fuse: 'number',
  keep: 'string',
  retries: 'number',
  backend: 'string',
  gpus: 'string',
  queue: 'string',
  rerun: 'boolean',
  set: 'strings',
  grid: 'strings',
  yes: 'boolean',
  skipBad: 'boolean',
  signal: 'signal',
};

/**
 * Options given from code (TypeScript's checks are gone once compiled, and JavaScript has none):
 * an unknown name, or a value of another type, is refused here, as the command line refuses an
 * unknown flag, rather than passed over (`worker: 2` ran with the default workers).
 */
function checkShape(options: unknown): asserts options is SweepOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new UserError(`options: expected an object of options (db, workers, …), found ${options === null ? 'null' : typeof options}`);
  const names = Object.keys(OPTION_TYPES);
  for (const [name, value] of Object.entries(options)) {
    const type = OPTION_TYPES[name as keyof SweepOptions];
    if (!type) throw new UserError(`${name}: unknown option${didYouMean(name, names)}; the options are ${names.join(', ')}`);
    if (value === undefined) continue;
    const ok =
      type === 'strings' ? Array.isArray(value) && value.every((v) => typeof v === 'string')
      : type === 'signal' ? value instanceof AbortSignal
      : typeof value === type;
    const expected = { strings: 'a list of strings', signal: 'an AbortSignal', string: 'a string', number: 'a number', boolean: 'true or false' }[type];
    if (!ok) throw new UserError(`${name}: expected ${expected}, found ${Array.isArray(value) ? 'a list' : typeof value === 'string' ? `'${value}'` : typeof value}`);
  }
}

export function checkOptions(options: SweepOptions): CheckedOptions {
  checkShape(options);
  const { workers } = options;
  if (workers !== undefined && !(Number.isSafeInteger(workers) && workers >= 1)) throw new UserError(`--workers: expected a positive integer, found '${workers}'`);
  const { fuse } = options;
  if (fuse !== undefined) checkFuse(fuse, String(fuse));
  const keep = keepOption(options.keep ?? DEFAULT_KEEP);
  const retries = countOption(String(options.retries ?? 1), 'retries');
  const backend = backendOption(options.backend);
  // Across machines: the agents choose their workers and GPUs; this process is the coordinator.
  const queue = options.queue === undefined ? undefined : parseQueueUrl(options.queue);
  if (queue && workers !== undefined) throw new UserError(`--workers: with --queue the agents train the trials; give each agent its workers (sweep agent --queue ${queue.shown} --workers N)`);
  // The coordinator hands out trials one by one (run-sweep.ts): a K would change nothing.
  if (queue && fuse !== undefined && fuse > 1) throw new UserError(`--fuse: with --queue the agents train the trials; give each agent its --fuse (sweep agent --queue ${queue.shown} --fuse ${fuse})`);
  // Agents prepare their trials' data themselves, and refuse what does not decode.
  if (queue && options.skipBad) throw new UserError('--skip-bad: with --queue the agents prepare the data, and refuse images that do not decode; remove those from the folder instead');
  if (queue && options.gpus !== undefined) throw new UserError(`--gpus: with --queue the agents train the trials; give each agent its GPUs (sweep agent --queue ${queue.shown} --gpus LIST)`);
  return {
    db: options.db ?? DEFAULT_DB,
    workers,
    fuse,
    keep,
    retries,
    backend,
    gpus: options.gpus,
    queue,
    rerun: options.rerun ?? false,
    overrides: { set: options.set ?? [], grid: options.grid ?? [] },
    yes: options.yes ?? false,
    skipBad: options.skipBad ?? false,
    signal: options.signal,
  };
}
