/**
 * The `--queue` URL: redis://[user:password@]host:port[/db], or rediss:// for TLS. Parsed into
 * connection options, and shown (in messages, in the database) without its password: a password
 * never reaches a terminal, a log or a file. A password may also come from the environment
 * (LENET_SWEEP_QUEUE_PASSWORD), where other users cannot read it in the process list.
 */
import { UserError } from '../config/errors.js';

export const PASSWORD_ENV = 'LENET_SWEEP_QUEUE_PASSWORD';

const FORM = 'redis://[user:password@]host:port[/db] (rediss:// for TLS)';

export interface QueueUrl {
  /** The URL as it may be shown and stored: no password (a user name stays). */
  shown: string;
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
}

/**
 * What a URL may be shown as when it does not parse: everything between `//` and the last `@`
 * is dropped, since a password may be in there (with a `/`, `?` or `#` of its own).
 */
export function redact(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^]*@/i, '$1…@');
}

/** Parses `--queue`; a user error (one line, naming the option, never the password) when it does not parse. */
export function parseQueueUrl(text: string, env: NodeJS.ProcessEnv = process.env, option = '--queue'): QueueUrl {
  const bad = (why: string) => new UserError(`${option}: '${redact(text)}' ${why}; expected ${FORM}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('is not a URL');
  }
  const tls = url.protocol === 'rediss:';
  if (url.protocol !== 'redis:' && !tls) throw bad(`has the scheme '${url.protocol.replace(/:$/, '')}'`);
  if (!url.hostname) throw bad('names no host');
  if (url.search || url.hash) throw bad('has a query or fragment, which is not read');
  const port = url.port ? Number(url.port) : 6379;
  if (port === 0) throw bad('has port 0');
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,2}$/.test(path)) throw bad(`has the path '/${path}', which is not a database number`);
  const db = path === '' ? 0 : Number(path);
  let username: string | undefined;
  let password: string | undefined;
  try {
    username = url.username ? decodeURIComponent(url.username) : undefined;
    password = url.password ? decodeURIComponent(url.password) : env[PASSWORD_ENV] || undefined;
  } catch {
    throw bad('has a user or password with a stray %; write % as %25');
  }
  // Brackets around an IPv6 address stay, so the shown URL parses again.
  const shown = `${url.protocol}//${url.username ? `${url.username}@` : ''}${url.hostname}:${port}${db ? `/${db}` : ''}`;
  return { shown, host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port, username, password, db, tls };
}
