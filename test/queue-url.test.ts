/**
 * The `--queue` URL: what it parses into, that its password is never shown (not in `shown`, not
 * in an error), and the first connection's check against a real Redis (test/redis-server.ts):
 * a missing or refused password is the user's to fix, a Redis that does not answer is a fault.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../src/config/errors.js';
import { checkConnection, QueueFault, redisOptions } from '../src/queue/redis.js';
import { parseQueueUrl, PASSWORD_ENV } from '../src/queue/url.js';
import { freePort, startRedis, type RedisServer } from './redis-server.js';

/** No password in the environment, whatever the shell running the tests has. */
const NO_ENV = {};

/** The error `fn` throws (it must throw). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected it to throw');
}

/** The error a promise rejects with (it must reject). */
async function rejected(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected it to reject');
}

describe('parseQueueUrl', () => {
  it('reads a host alone, with the default port and database 0', () => {
    expect(parseQueueUrl('redis://queue.example', NO_ENV)).toEqual({
      shown: 'redis://queue.example:6379',
      host: 'queue.example',
      port: 6379,
      username: undefined,
      password: undefined,
      db: 0,
      tls: false,
    });
  });

  it('reads a port and a database number', () => {
    const url = parseQueueUrl('redis://h:6380/2', NO_ENV);
    expect(url).toMatchObject({ host: 'h', port: 6380, db: 2, tls: false, shown: 'redis://h:6380/2' });
    expect(parseQueueUrl('redis://h:6380/', NO_ENV)).toMatchObject({ port: 6380, db: 0, shown: 'redis://h:6380' });
  });

  it('reads a user and a password, and shows the user only', () => {
    const url = parseQueueUrl('redis://user:pw@h:1/0', NO_ENV);
    expect(url).toMatchObject({ host: 'h', port: 1, db: 0, username: 'user', password: 'pw', shown: 'redis://user@h:1' });
    expect(url.shown).not.toContain('pw');
  });

  it('takes rediss:// as TLS', () => {
    expect(parseQueueUrl('rediss://h', NO_ENV)).toMatchObject({ tls: true, host: 'h', port: 6379, shown: 'rediss://h:6379' });
    expect(parseQueueUrl('redis://h', NO_ENV).tls).toBe(false);
  });

  it('reads an IPv6 address without its brackets, and shows it with them so that it parses again', () => {
    const url = parseQueueUrl('redis://[::1]:6380/3', NO_ENV);
    expect(url).toMatchObject({ host: '::1', port: 6380, db: 3, shown: 'redis://[::1]:6380/3' });
    expect(parseQueueUrl(url.shown, NO_ENV)).toEqual(url);
  });

  it('decodes a percent-encoded password and never shows it, encoded or not', () => {
    for (const text of ['redis://:s%40cr%3At%2Fw0rd@h:7000', 'redis://alice:s%40cr%3At%2Fw0rd@h:7000/1']) {
      const url = parseQueueUrl(text, NO_ENV);
      expect(url.password).toBe('s@cr:t/w0rd');
      expect(url.shown).not.toMatch(/s%40cr|s@cr|w0rd/);
      expect(url.shown).toMatch(/^redis:\/\/(alice@)?h:7000(\/1)?$/);
    }
  });

  it(`takes the password from $${PASSWORD_ENV} when the URL has none, and not otherwise`, () => {
    const env = { [PASSWORD_ENV]: 'from-env' };
    expect(parseQueueUrl('redis://h', env)).toMatchObject({ password: 'from-env', shown: 'redis://h:6379' });
    expect(parseQueueUrl('redis://bob@h', env)).toMatchObject({ username: 'bob', password: 'from-env', shown: 'redis://bob@h:6379' });
    expect(parseQueueUrl('redis://:from-url@h', env).password).toBe('from-url');
    expect(parseQueueUrl('redis://h', { [PASSWORD_ENV]: '' }).password).toBeUndefined();
    expect(parseQueueUrl('redis://h', NO_ENV).password).toBeUndefined();
  });

  const bad: [text: string, why: RegExp][] = [
    ['http://h', /has the scheme 'http'/],
    ['redis:/', /names no host/],
    ['not a url', /is not a URL/],
    ['redis://h/abc', /has the path '\/abc', which is not a database number/],
    ['redis://h?x=1', /has a query or fragment/],
    ['redis://h#x', /has a query or fragment/],
    ['redis://u:secret@h:99999', /is not a URL/],
    ['http://u:secret@h', /has the scheme 'http'/],
    ['redis://u:secret@h/abc', /which is not a database number/],
    ['redis://:secret@h?db=1', /has a query or fragment/],
    // A password with a / ? or # of its own, not encoded: the URL does not parse, and the whole
    // authority up to its last @ is left out of the message.
    ['redis://u:se/cret@h', /which is not a database number|is not a URL|names no host/],
    ['redis://u:se#cret@h:1', /has a query or fragment|is not a URL|names no host/],
    ['redis://u:se?cret@h:1', /has a query or fragment|is not a URL|names no host/],
    ['redis://u:secret%@h', /stray %/],
    ['redis://u%zz:secret@h', /stray %/],
    ['redis://h:0', /has port 0/],
  ];
  it.each(bad)('refuses %s in one line that names --queue and not the password', (text, why) => {
    const err = thrown(() => parseQueueUrl(text, NO_ENV));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/^--queue: /);
    expect(err.message).toMatch(why);
    expect(err.message).toContain('expected redis://');
    expect(err.message).not.toContain('\n');
    expect(err.message).not.toContain('secret');
    // Nor any part of it (se/cret, se#cret…).
    expect(err.message).not.toMatch(/se.?cret|cret@/);
  });

  it('names the option it was given', () => {
    expect(thrown(() => parseQueueUrl('http://h', NO_ENV, '--other')).message).toMatch(/^--other: 'http:\/\/h'/);
  });
});

describe('redisOptions', () => {
  it('asks for TLS with rediss:// only', () => {
    expect(redisOptions(parseQueueUrl('rediss://127.0.0.1:1', NO_ENV)).tls).toEqual(expect.any(Object));
    expect(redisOptions(parseQueueUrl('redis://127.0.0.1:1', NO_ENV)).tls).toBeUndefined();
  });

  it('passes the user, password and database on', () => {
    expect(redisOptions(parseQueueUrl('redis://u:p%40w@h:7/4', NO_ENV))).toMatchObject({ host: 'h', port: 7, username: 'u', password: 'p@w', db: 4 });
  });
});

describe('checkConnection against a real Redis', () => {
  const PASSWORD = 'pa ss@w:rd/é';
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis({ password: PASSWORD });
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** The server's URL without the password, as a user might type it. */
  const bare = () => `redis://127.0.0.1:${server.port}`;

  it('connects with the right password, from the URL or the environment', async () => {
    await expect(checkConnection(parseQueueUrl(server.url, NO_ENV))).resolves.toBeUndefined();
    await expect(checkConnection(parseQueueUrl(bare(), { [PASSWORD_ENV]: PASSWORD }))).resolves.toBeUndefined();
  });

  it('says that the server asks for a password when none is given', async () => {
    const err = await rejected(checkConnection(parseQueueUrl(bare(), NO_ENV)));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(`--queue: Redis at ${bare()} asks for a password`);
  });

  it('says that the password was refused, without showing it', async () => {
    const wrong = 'not-the-password';
    for (const text of [`redis://:${wrong}@127.0.0.1:${server.port}`, `redis://default:${wrong}@127.0.0.1:${server.port}`]) {
      const err = await rejected(checkConnection(parseQueueUrl(text, NO_ENV)));
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toContain('refused');
      expect(err.message).not.toContain(wrong);
    }
    const err = await rejected(checkConnection(parseQueueUrl(bare(), { [PASSWORD_ENV]: wrong })));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain('refused');
    expect(err.message).not.toContain(wrong);
  });

  it('refuses a database number the server does not have (ioredis would go on in database 0)', async () => {
    const url = `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}`;
    const err = await rejected(checkConnection(parseQueueUrl(`${url}/99`, NO_ENV)));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/^--queue: Redis at redis:\/\/127\.0\.0\.1:\d+\/99 has no database 99 \(.*; it has 0 to 15\)$/);
    await expect(checkConnection(parseQueueUrl(`${url}/15`, NO_ENV))).resolves.toBeUndefined();
  });

  it('counts a closed port as a Redis that does not answer (a fault, not a user error)', async () => {
    const port = await freePort();
    const err = await rejected(checkConnection(parseQueueUrl(`redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`, NO_ENV)));
    expect(err).toBeInstanceOf(QueueFault);
    expect(err).not.toBeInstanceOf(UserError);
    expect(err.message).toContain(`Redis at redis://127.0.0.1:${port} does not answer (connection refused)`);
    expect(err.message).not.toContain('pa ss');
    expect(err.message).not.toContain('pa%20ss');
  });

  it('counts a port that takes the connection but never answers as a fault, after 10 s, not a hang', async () => {
    // Not a Redis: it accepts and says nothing.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const began = Date.now();
      const err = await rejected(checkConnection(parseQueueUrl(`redis://127.0.0.1:${port}`, NO_ENV)));
      expect(err).toBeInstanceOf(QueueFault);
      expect(err.message).toBe(`Redis at redis://127.0.0.1:${port} does not answer (nothing came back within 10 s: is it a Redis server?); start it, or check the host and port in --queue`);
      expect(Date.now() - began).toBeLessThan(30_000);
    } finally {
      silent.close();
    }
  }, 60_000);

  it('connects again once the server is back after a restart', async () => {
    const before = server.pid;
    await server.restart();
    expect(server.pid).not.toBe(before);
    await expect(checkConnection(parseQueueUrl(server.url, NO_ENV))).resolves.toBeUndefined();
  });
});
