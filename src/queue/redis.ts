/**
 * Connections to the queue's Redis. The first one is checked (PING) so that a wrong URL or
 * password is said at once, in one line: a refused password is the user's to fix (UserError,
 * exit 2), a Redis that does not answer is a fault (exit 1). Once running, connections retry
 * for ever with a growing pause (ioredis): a Redis restarted, or a network that comes back,
 * is picked up where it was.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { UserError } from '../config/errors.js';
import type { QueueUrl } from './url.js';

/** How long the first connection may take before Redis counts as not answering. */
const CONNECT_TIMEOUT_MS = 5000;
/** The longest pause between reconnection tries. */
const MAX_RETRY_PAUSE_MS = 2000;

/**
 * Keys (or hash fields) named in one command when many are removed. Each is an argument of the
 * call (redis.del(...keys)), and a call has room for about 120,000 arguments on the stack: a
 * sweep of 200,000 jobs threw "Maximum call stack size exceeded".
 */
const KEYS_PER_COMMAND = 1000;

/** Runs `command` on the keys a thousand at a time, one command after another. */
export async function inBatches(keys: string[], command: (batch: string[]) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < keys.length; start += KEYS_PER_COMMAND) await command(keys.slice(start, start + KEYS_PER_COMMAND));
}

/** A Redis fault (not answering, gone): a runtime failure, exit 1. */
export class QueueFault extends Error {}

/** Options for every connection to the queue (BullMQ's workers need maxRetriesPerRequest: null). */
export function redisOptions(url: QueueUrl): RedisOptions {
  return {
    host: url.host,
    port: url.port,
    username: url.username,
    password: url.password,
    db: url.db,
    // Node checks the certificate against the host (a name or an address) by itself.
    ...(url.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(times * 200, MAX_RETRY_PAUSE_MS),
  };
}

/** Why a connection failed, said for the user (the URL shown without its password). */
export function connectionProblem(url: QueueUrl, err: Error & { code?: string }): UserError | QueueFault {
  const message = err.message ?? String(err);
  if (/^(WRONGPASS|NOAUTH)/.test(message)) {
    const what = url.password ? 'refused the user and password' : 'asks for a password';
    return new UserError(`--queue: Redis at ${url.shown} ${what} (${message.split(' ')[0]}); give the password in the URL (redis://[user]:password@host:port) or in $LENET_SWEEP_QUEUE_PASSWORD`);
  }
  if (/certificate|self.signed|CERT_|SSL|TLS/i.test(`${err.code ?? ''} ${message}`)) {
    return new UserError(`--queue: Redis at ${url.shown} answered, but its TLS certificate is not trusted here (${message}); give its CA in NODE_EXTRA_CA_CERTS=ca.pem`);
  }
  const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ENOTFOUND' ? 'no such host' : err.code === 'ETIMEDOUT' ? 'timed out' : message;
  return new QueueFault(`Redis at ${url.shown} does not answer (${why}); start it, or check the host and port in --queue`);
}

/** How long the first connection waits for Redis's answer to PING. */
const ANSWER_TIMEOUT_MS = 10_000;

/** Checks that Redis answers PING with these credentials; throws what connectionProblem says if not. */
export async function checkConnection(url: QueueUrl): Promise<void> {
  const redis = new Redis({ ...redisOptions(url), lazyConnect: true, retryStrategy: () => null });
  let first: (Error & { code?: string }) | undefined;
  redis.on('error', (err: Error) => (first ??= err));
  try {
    // A port that takes the connection but never answers (not a Redis, or a stuck one) is a
    // fault too, said after a while rather than waited on for ever.
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`nothing came back within ${ANSWER_TIMEOUT_MS / 1000} s: is it a Redis server?`), { code: 'NOANSWER' })), ANSWER_TIMEOUT_MS);
    });
    try {
      await Promise.race([redis.connect().then(() => redis.ping()), silent]);
    } finally {
      clearTimeout(timer);
    }
  } catch (err) {
    redis.disconnect();
    throw connectionProblem(url, (err as { code?: string }).code === 'NOANSWER' ? (err as Error) : (first ?? (err as Error)));
  }
  try {
    // ioredis goes on in database 0 when the URL's cannot be selected: said here instead.
    if (url.db) await redis.select(url.db);
  } catch (err) {
    const count = await redis.config('GET', 'databases').then((r) => (r as string[])[1], () => undefined);
    throw new UserError(`--queue: Redis at ${url.shown} has no database ${url.db} (${(err as Error).message}${count ? `; it has 0 to ${Number(count) - 1}` : ''})`);
  } finally {
    redis.disconnect();
  }
}

/** A connection that reconnects by itself; errors go to `onError`. */
export function connect(url: QueueUrl, name: string, onError: (err: Error) => void = () => {}): Redis {
  const redis = new Redis({ ...redisOptions(url), connectionName: name });
  redis.on('error', onError);
  return redis;
}
