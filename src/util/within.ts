/**
 * `promise`'s value if it settles within `ms`, else null. The timer holds the process open
 * while it waits: whoever awaits this needs its answer, and where nothing else is left alive
 * (a crashed pool thread, its port closed) an unreferenced timer would let Node end the process
 * with exit code 0 in the middle of the command. It is cleared as soon as `promise` settles.
 */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
