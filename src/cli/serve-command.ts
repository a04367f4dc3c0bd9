/**
 * `sweep serve [--db PATH] [--host HOST] [--port N] [--open]`: the database's sweeps in a browser
 * (serve/server.ts), until Ctrl-C, SIGTERM or SIGHUP. The database is checked before anything
 * listens (one that is not ours or is damaged is refused, exit 2), and so are the address and
 * port (in use, not this machine's, privileged: one line, exit 2). It never writes the database.
 */
import { spawn } from 'node:child_process';
import { UserError } from '../config/errors.js';
import { isLoopback, startServer } from '../serve/server.js';
import { damagedDatabase, withReadOnly } from '../store/open.js';
import { listSweeps } from '../store/queries.js';
import { STOP_SIGNALS, type StopSignal } from '../util/signals.js';
import { packageVersion } from '../version.js';
import { parse } from './args.js';
import { SERVE } from './commands.js';

/** A port written in digits, 0 (any free one) to 65535. */
function portOption(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new UserError(`--port: expected a port number from 0 to 65535 (0: any free one), found '${value}'`);
  return Number(value);
}

/** What a failure to listen means to the person who chose the address and port. */
function listenProblem(err: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (err.code) {
    case 'EADDRINUSE':
      return new UserError(`--port ${port}: another program listens there; choose another port, or --port 0 for any free one`);
    case 'EACCES':
      return new UserError(`--port ${port}: not allowed to listen there (ports below 1024 need privileges); choose 1024 or above`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UserError(`--host ${host}: not an address of this machine (${err.code}); use 127.0.0.1 (the default), or 0.0.0.0 for every interface`);
    default:
      return err;
  }
}

/** Hands the URL to the desktop's browser, where there is one; says so where there is none. */
function openInBrowser(url: string): void {
  const child = spawn('xdg-open', [url], { stdio: 'ignore', detached: true });
  child.on('error', () => console.log(`note: no desktop browser to open (xdg-open not found); open ${url} in one`));
  // xdg-open on a machine without a desktop (no DISPLAY, ssh) fails with a code and nothing shown.
  child.on('exit', (code) => {
    if (code) console.log(`note: xdg-open could not open a browser (exit code ${code}); open ${url} in one`);
  });
  child.unref();
}

export async function serveCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, SERVE);
  if (positionals.length) throw new UserError(`sweep serve: unexpected argument '${positionals[0]}'; name the database with --db PATH`);
  const port = portOption(values.port!);
  const host = values.host!;
  // Node takes an empty host for every interface, and the address said would be http://:PORT/.
  if (host === '') throw new UserError("--host: expected an address to listen on (127.0.0.1, the default; 0.0.0.0 for every interface), found ''");
  const db = values.db!;
  // Refused before listening: a missing file, one that is not a lenet-sweep database, a damaged
  // one (read through the index's query: damage past the file's first pages shows only there).
  withReadOnly(db, (conn) => {
    try {
      listSweeps(conn);
    } catch (err) {
      if (/malformed|SQLITE_CORRUPT|SQLITE_NOTADB/.test(`${(err as { code?: string }).code} ${(err as Error).message}`)) throw damagedDatabase(db, (err as Error).message);
      throw err;
    }
  });

  // Signals that come while it starts to listen are kept, and end it as soon as it does.
  let stop: StopSignal | undefined;
  let stopped: (signal: StopSignal) => void = (signal) => (stop ??= signal);
  const onSignal = (signal: StopSignal) => stopped(signal);
  for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) process.on(signal, onSignal);

  let server;
  try {
    server = await startServer({ db, host, port, version: packageVersion(), onError: (line) => console.error(`error: ${line}`) });
  } catch (err) {
    throw listenProblem(err as NodeJS.ErrnoException, host, port);
  }
  if (!isLoopback(host)) console.log(`warning: listening on ${host}: anyone who can reach port ${server.port} can read every result in ${db}`);
  console.log(`serving ${db} at ${server.url} (Ctrl-C to stop)`);
  if (values.open && stop === undefined) openInBrowser(server.url);

  const signal = stop ?? (await new Promise<StopSignal>((resolve) => (stopped = resolve)));
  await server.close();
  for (const s of Object.keys(STOP_SIGNALS)) process.off(s, onSignal);
  return STOP_SIGNALS[signal];
}
