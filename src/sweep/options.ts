/**
 * A sweep's options (session-types.ts SweepOptions) checked and completed with their defaults.
 * Problems name each option as the command line spells it (--keep for keep): the options are the
 * command's, and the command reads its flags into them with these same checks, in this order.
 */
import { AUTO_ORDER, type BackendChoice } from '../backend/choice.js';
import { DEFAULT_KEEP, KEEP_POLICIES, type KeepPolicy } from '../checkpoint/retention.js';
import { UserError } from '../config/errors.js';
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

/** A whole number of at least 0. */
export function countOption(value: string, name: string): number {
  if (!/^\d+$/.test(value)) throw new UserError(`--${name}: expected a whole number (0 or more), found '${value}'`);
  return Number(value);
}

/** The options with their defaults; the queue's URL read. */
export interface CheckedOptions {
  db: string;
  workers: number | undefined;
  keep: KeepPolicy;
  retries: number;
  backend: BackendChoice | undefined;
  gpus: string | undefined;
  queue: QueueUrl | undefined;
  rerun: boolean;
  overrides: { set: string[]; grid: string[] };
  yes: boolean;
  signal: AbortSignal | undefined;
}

export function checkOptions(options: SweepOptions): CheckedOptions {
  const { workers } = options;
  if (workers !== undefined && !(Number.isSafeInteger(workers) && workers >= 1)) throw new UserError(`--workers: expected a positive integer, found '${workers}'`);
  const keep = keepOption(options.keep ?? DEFAULT_KEEP);
  const retries = countOption(String(options.retries ?? 1), 'retries');
  const backend = backendOption(options.backend);
  // Across machines: the agents choose their workers and GPUs; this process is the coordinator.
  const queue = options.queue === undefined ? undefined : parseQueueUrl(options.queue);
  if (queue && workers !== undefined) throw new UserError(`--workers: with --queue the agents train the trials; give each agent its workers (sweep agent --queue ${queue.shown} --workers N)`);
  if (queue && options.gpus !== undefined) throw new UserError(`--gpus: with --queue the agents train the trials; give each agent its GPUs (sweep agent --queue ${queue.shown} --gpus LIST)`);
  return {
    db: options.db ?? DEFAULT_DB,
    workers,
    keep,
    retries,
    backend,
    gpus: options.gpus,
    queue,
    rerun: options.rerun ?? false,
    overrides: { set: options.set ?? [], grid: options.grid ?? [] },
    yes: options.yes ?? false,
    signal: options.signal,
  };
}
