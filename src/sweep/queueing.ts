/**
 * What a session needs of the queue when it coordinates a sweep across machines (--queue):
 * loaded by session.ts only then, since BullMQ and ioredis take about a second to load, which a
 * sweep on this machine alone would pay for nothing.
 */
export { CoordinatorLease, LEASE_TTL_MS } from '../queue/lease.js';
export { QueuedTrials } from '../queue/queued-trials.js';
export { checkConnection } from '../queue/redis.js';
