/**
 * A Redis server of a test's own: Debian's redis-server (scripts/install-redis.sh) as a child
 * process on a free port of 127.0.0.1, with no persistence and its files in a temp folder;
 * optionally with a password, with TLS only (a throwaway CA and certificate made with openssl),
 * or listening on more addresses (agents in network namespaces). Servers are killed when the
 * test process exits, however it exits: a watchdog (`sh`) reading a pipe from this process kills
 * its server when the pipe closes, which a crash or SIGKILL closes too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, isIP } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { tempDir } from './helpers.js';

export const REDIS_SERVER = process.env.LENET_SWEEP_REDIS_SERVER ?? '/usr/bin/redis-server';

export interface RedisOptions {
  /** Clients must AUTH with this (requirepass). */
  password?: string;
  /** TLS only (no plain port): rediss://, with `caFile` the CA that signed the certificate. */
  tls?: boolean;
  /** Addresses to listen on besides 127.0.0.1 (protected mode off then); with tls, also in the certificate. */
  bind?: string[];
  /** Keep the data across restart() (append-only file, fsync on every write). */
  persist?: boolean;
}

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:PORT, with `:PASSWORD@` when there is a password; rediss:// with tls. */
  url: string;
  /** With tls: the CA certificate, for NODE_EXTRA_CA_CERTS (or a client's `ca`). */
  caFile?: string;
  /** The server's folder (its log is redis.log). */
  dir: string;
  /** The running server's process id (a new one after restart). */
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); safe to call twice. */
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port with the same options (and no data). */
  restart(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const START_TRIES = 5;

/** Every server still running and its watchdog, killed when this process exits. */
const live = new Map<ChildProcess, ChildProcess>();
let exitHook = false;
function killAllOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const [server, watchdog] of live) {
      server.kill('SIGKILL');
      watchdog.kill('SIGKILL');
    }
  });
}

/** A TCP port of 127.0.0.1 nobody listens on now (the kernel's pick for port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

function openssl(dir: string, args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.error) throw new Error(`openssl: ${result.error.message} (scripts/install-redis.sh installs it)`);
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${result.stderr}`);
}

/** A throwaway CA and a server certificate it signs, valid for 127.0.0.1, ::1, localhost and `extra`. */
function makeCertificates(dir: string, extra: string[]): { ca: string; cert: string; key: string } {
  const names = ['IP:127.0.0.1', 'IP:0:0:0:0:0:0:0:1', 'DNS:localhost', ...extra.map((a) => (isIP(a) ? `IP:${a}` : `DNS:${a}`))];
  // Own configuration files, so that nothing depends on /etc/ssl/openssl.cnf's defaults.
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      'x509_extensions = ca',
      '[dn]',
      'CN = lenet-sweep test CA',
      '[ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'server.cnf'),
    ['[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', 'CN = localhost', ''].join('\n'),
  );
  writeFileSync(
    join(dir, 'server.ext'),
    [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      'authorityKeyIdentifier = keyid',
      `subjectAltName = ${names.join(', ')}`,
      '',
    ].join('\n'),
  );
  openssl(dir, ['req', '-x509', '-new', '-nodes', '-newkey', 'rsa:2048', '-days', '2', '-config', 'ca.cnf', '-keyout', 'ca.key', '-out', 'ca.crt']);
  openssl(dir, ['req', '-new', '-nodes', '-newkey', 'rsa:2048', '-config', 'server.cnf', '-keyout', 'server.key', '-out', 'server.csr']);
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt']);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

/** Whether Redis answers PING (with these options) now. */
async function answers(port: number, options: RedisOptions, ca: string | undefined): Promise<boolean> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    password: options.password,
    ...(ca ? { tls: { ca: readFileSync(ca), servername: 'localhost' } } : {}),
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

function readLog(dir: string): string {
  const log = join(dir, 'redis.log');
  return existsSync(log) ? readFileSync(log, 'utf8') : '';
}

/** Stops a server: SIGTERM, then SIGKILL if it has not exited after STOP_TIMEOUT_MS. */
async function stopProcess(server: ChildProcess): Promise<void> {
  const watchdog = live.get(server);
  live.delete(server);
  watchdog?.kill('SIGKILL');
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts redis-server on `port` and waits until it answers PING. Resolves to the process, or to
 * 'port in use' when the port was taken (by the time Redis bound it); rejects on other failures.
 */
async function launch(dir: string, port: number, options: RedisOptions, tls?: { ca: string; cert: string; key: string }): Promise<ChildProcess | 'port in use'> {
  writeFileSync(join(dir, 'redis.log'), '');
  const args = [
    '--port', tls ? '0' : String(port),
    '--bind', '127.0.0.1', ...(options.bind ?? []),
    '--save', '',
    // persist: every write is in the append-only file before it is answered, so a restart keeps
    // the queue (as a production Redis with appendonly would).
    ...(options.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    '--dir', dir,
    '--logfile', join(dir, 'redis.log'),
    '--daemonize', 'no',
    ...(options.bind?.length ? ['--protected-mode', 'no'] : []),
    ...(tls ? ['--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no'] : []),
  ];
  // Given in the configuration on stdin, not the command line, where `ps` would show it.
  const server = spawn(REDIS_SERVER, [...args, ...(options.password !== undefined ? ['-'] : [])], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  server.stdin!.end(options.password !== undefined ? `requirepass "${[...Buffer.from(options.password)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}"\n` : '');
  const spawned = await new Promise<Error | undefined>((resolve) => {
    server.once('spawn', () => resolve(undefined));
    server.once('error', (err) => resolve(err));
  });
  if (spawned) throw new Error(`${REDIS_SERVER}: ${spawned.message} (scripts/install-redis.sh installs it)`);
  // The watchdog kills the server once this process's end of its stdin closes, however this process ends.
  const watchdog = spawn('sh', ['-c', 'read _ ; kill -KILL "$1" 2>/dev/null', 'redis-watchdog', String(server.pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  watchdog.on('error', () => {});
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  live.set(server, watchdog);
  killAllOnExit();
  server.unref();
  (server.stderr as unknown as { unref?: () => void }).unref?.();

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      await stopProcess(server);
      const log = readLog(dir) + stderr;
      if (/Address already in use/i.test(log)) return 'port in use';
      throw new Error(`redis-server exited (${server.exitCode ?? server.signalCode}) before answering PING:\n${log}`);
    }
    if (await answers(port, options, tls?.ca)) return server;
    await sleep(50);
  }
  await stopProcess(server);
  throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS / 1000} s:\n${readLog(dir)}${stderr}`);
}

/** Starts a Redis server of the test's own; stop it in an afterAll/afterEach (it also dies with the process). */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const dir = tempDir('lenet-sweep-redis-');
  const tls = options.tls ? makeCertificates(dir, options.bind ?? []) : undefined;
  let port = 0;
  let server: ChildProcess | 'port in use' = 'port in use';
  for (let i = 0; i < START_TRIES && server === 'port in use'; i++) {
    port = await freePort();
    server = await launch(dir, port, options, tls);
  }
  if (server === 'port in use') throw new Error(`redis-server: no free port after ${START_TRIES} tries`);
  let current: ChildProcess = server;
  const auth = options.password !== undefined ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: `${tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    caFile: tls?.ca,
    dir,
    get pid() {
      return current.pid!;
    },
    stop: () => stopProcess(current),
    async restart() {
      await stopProcess(current);
      // The same port: taken meanwhile only by bad luck, so a few tries, then give up.
      for (let i = 0; i < START_TRIES; i++) {
        const next = await launch(dir, port, options, tls);
        if (next !== 'port in use') {
          current = next;
          return;
        }
        await sleep(200);
      }
      throw new Error(`redis-server: port ${port} is taken, cannot restart on it`);
    },
  };
}
