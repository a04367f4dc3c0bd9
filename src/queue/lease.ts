/**
 * One coordinator per sweep on a Redis: the coordinator holds a lease (a key with a time to live,
 * renewed while it runs) whose token every job it hands out carries. A second coordinator of the
 * same sweep (another database, another machine) is refused while the lease is held; one that
 * starts after a coordinator died takes the lease once it lapses (at once if the dead one ran on
 * this host). Agents compare their jobs' token with the lease: a job of an earlier coordinator
 * is dropped when a new one holds the sweep, whose trials resume from the checkpoints it stored.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { UserError } from '../config/errors.js';
import { processState } from '../store/queries.js';
import { connect } from './redis.js';
import { keys } from './protocol.js';
import type { QueueUrl } from './url.js';

/** The lease lapses this long after its holder's last renewal. */
export const LEASE_TTL_MS = 10_000;
const LEASE_RENEW_MS = 2000;

export interface LeaseHolder {
  token: string;
  host: string;
  pid: number;
  since: string;
}

/** Renews the lease when it is still this holder's (a Lua check-and-set, atomic in Redis). */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export class CoordinatorLease {
  private readonly timer: NodeJS.Timeout;
  private released = false;

  private constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly value: string,
    readonly token: string,
  ) {
    this.timer = setInterval(() => void this.redis.eval(RENEW, 1, this.key, this.value, LEASE_TTL_MS).catch(() => {}), LEASE_RENEW_MS).unref();
  }

  /**
   * Takes the sweep's lease, waiting for one a dead coordinator left to lapse (`waiting` says so);
   * a UserError when a live coordinator holds it.
   */
  static async take(url: QueueUrl, sweep: string, waiting: (holder: LeaseHolder) => void): Promise<CoordinatorLease> {
    const redis = connect(url, 'lenet-sweep-coordinator-lease');
    const key = keys.coordinator(sweep);
    const token = randomUUID();
    const holder: LeaseHolder = { token, host: hostname(), pid: process.pid, since: new Date().toISOString() };
    const value = JSON.stringify(holder);
    const deadline = Date.now() + LEASE_TTL_MS + 2000;
    let told = false;
    try {
      for (;;) {
        if (await redis.set(key, value, 'PX', LEASE_TTL_MS, 'NX')) return new CoordinatorLease(redis, key, value, token);
        const held = await redis.get(key);
        if (held === null) continue;
        const other = parseHolder(held);
        // Its process is gone (this host only can tell): the lease is free now.
        if (other && processState({ host: other.host, pid: other.pid, updated_at: null }) === 'gone') {
          await redis.eval(RELEASE, 1, key, held);
          continue;
        }
        // A live holder renews every LEASE_RENEW_MS: after longer than that, its lease has
        // (nearly) its whole time to live again; a dead one's keeps running out.
        await new Promise((resolve) => setTimeout(resolve, told ? 500 : LEASE_RENEW_MS + 500));
        const ttl = await redis.pttl(key);
        const renewed = ttl > LEASE_TTL_MS - LEASE_RENEW_MS - 200 && (await redis.get(key)) === held;
        if (!renewed && !told && other && ttl > 0) {
          waiting(other);
          told = true;
          continue;
        }
        if ((renewed && !told) || Date.now() > deadline) {
          throw new UserError(
            `--queue: sweep '${sweep}' is being coordinated on ${url.shown} by ${other ? `${other.host} (pid ${other.pid}, since ${other.since})` : 'another process'}; ` +
              'two coordinators of one sweep would train its trials twice: stop that one, or give this sweep another name',
          );
        }
      }
    } catch (err) {
      redis.disconnect();
      throw err;
    }
  }

  /** Gives the lease up (a later coordinator of the sweep takes it at once). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await this.redis.eval(RELEASE, 1, this.key, this.value).catch(() => {});
    this.redis.disconnect();
  }
}

function parseHolder(value: string): LeaseHolder | null {
  try {
    const v = JSON.parse(value) as LeaseHolder;
    return typeof v.token === 'string' && typeof v.host === 'string' && typeof v.pid === 'number' ? v : null;
  } catch {
    return null;
  }
}
