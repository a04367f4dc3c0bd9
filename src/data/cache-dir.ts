import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where converted datasets live: $LENET_SWEEP_CACHE, else $XDG_CACHE_HOME/lenet-sweep, else ~/.cache/lenet-sweep. */
export function cacheDir(): string {
  if (process.env.LENET_SWEEP_CACHE) return process.env.LENET_SWEEP_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lenet-sweep');
}
