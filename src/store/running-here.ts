/**
 * The sweeps this process runs now, by database file and name. A sweep marked running with this
 * process's pid was left so by an earlier process that had the same pid (ours now: it is gone),
 * or is run by another session of this process (the API can start two): only this set tells.
 * The writer adds a sweep when it claims it and removes it when the run ends.
 */
export const runningHere = new Set<string>();
