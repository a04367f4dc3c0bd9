/**
 * What the coordinator did with a stream entry or an earlier coordinator's job, said on stderr
 * when LENET_SWEEP_DEBUG is set (to follow a queue's order of events when a test fails).
 */
export function debug(what: string): void {
  if (process.env.LENET_SWEEP_DEBUG) console.error(`debug: queue: ${what}`);
}
