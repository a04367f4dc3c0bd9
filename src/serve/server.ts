/**
 * `sweep serve`'s HTTP server (Node's own http module: a handful of GET routes need no framework,
 * and nothing more to install or audit). Read-only over the database: each request opens a
 * read-only connection (store/open.ts) and closes it when answered, so no transaction outlives a
 * request, a sweep's writes never wait for it, and a database replaced under it is read afresh.
 *
 *   /                  the index of every sweep (pages.ts), which asks for its rows again each
 *                      second (/fragments/index-rows)
 *   /sweeps/NAME       the sweep's report, as `sweep report --sweep NAME` writes it (report/html.ts),
 *                      updating itself while the sweep runs (api.ts's live answer)
 *   /sweeps/NAME/compare?trials=ID,ID…   trials side by side (pages.ts)
 *   /api/...           JSON (api.ts)
 *
 * Nothing in a URL reaches the file system: paths are routes, not files, so `..` and the like
 * find no route (404). Bound to a loopback address, it answers only requests that name one in
 * their Host header, so a web page elsewhere cannot read it through DNS rebinding. Every answer
 * forbids the page to load anything from elsewhere (the report's Content Security Policy).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv6, type AddressInfo } from 'node:net';
import { buildReport } from '../report/build-report.js';
import { withReadOnly } from '../store/open.js';
import type Database from 'better-sqlite3';
import { UserError } from '../config/errors.js';
import { epochsOf, findTrial, listSweeps, sweepNames, type TrialRecord } from '../store/queries.js';
import { didYouMean } from '../config/suggest.js';
import { answer } from './api.js';
import { Builds } from './page-builds.js';
import { COMPARE_MOST, comparePage, comparePath, errorPage, INDEX_ROWS_PATH, indexPage, indexRows, notFoundPage, PAGE_CSP } from './pages.js';

export interface ServeOptions {
  db: string;
  host: string;
  port: number;
  version: string;
  /** Told of a request that failed on our side (a damaged database): one line. */
  onError?: (line: string) => void;
}

export interface RunningServer {
  /** Where it listens: http://HOST:PORT/ (the port chosen when 0 was asked). */
  url: string;
  port: number;
  /** Stops listening and ends every open connection. */
  close(): Promise<void>;
}

/** Addresses only this machine reaches, however written: localhost, 127.x.y.z, ::1 and its long and IPv4-mapped forms. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(h)) return true;
  if (!isIPv6(h)) return false;
  // URL writes an IPv6 address in its one short form: [::1], and ::ffff:127.0.0.1 as [::ffff:7f00:1].
  const short = new URL(`http://[${h}]/`).hostname;
  return short === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(short);
}

/** The host part of a Host header: `[::1]:8080` → `::1`, `localhost:80` → `localhost`. */
function hostOf(header: string | undefined): string {
  if (!header) return '';
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(header);
  return (bracketed ? bracketed[1] : header.replace(/:\d+$/, '')).toLowerCase();
}

const HEADERS = {
  'Content-Security-Policy': PAGE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array[], head: boolean): void {
  const pieces = typeof body === 'string' ? [Buffer.from(body)] : body;
  res.writeHead(status, { ...HEADERS, 'Content-Type': type, 'Content-Length': pieces.reduce((n, p) => n + p.byteLength, 0) });
  if (!head) for (const piece of pieces) res.write(piece);
  res.end();
}

const json = (res: ServerResponse, status: number, body: unknown, head: boolean) => send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`, head);
const html = (res: ServerResponse, status: number, body: string | Uint8Array[], head: boolean) => send(res, status, 'text/html; charset=utf-8', body, head);

/**
 * The request-target's path and query, read as a path (never as `//host/path`, which URL would
 * take for an address: `//` made it throw, and `//x/sweeps/a` served /sweeps/a); the absolute
 * form a proxy sends (`http://host/path`) gives its path. null where it is neither.
 */
function targetOf(raw: string): { pathname: string; query: URLSearchParams } | null {
  let target = raw.split('#')[0];
  if (!target.startsWith('/')) {
    if (!/^https?:\/\//i.test(target)) return null;
    try {
      const url = new URL(target);
      target = url.pathname + url.search;
    } catch {
      return null;
    }
  }
  const q = target.indexOf('?');
  return { pathname: q < 0 ? target : target.slice(0, q), query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)) };
}

/** The path's segments, each decoded; null where one is not valid percent-encoding. */
function segmentsOf(pathname: string): string[] | null {
  try {
    return pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return null;
  }
}

interface Context {
  options: ServeOptions;
  loopbackOnly: boolean;
  builds: Builds;
}

async function handle(req: IncomingMessage, res: ServerResponse, { options, loopbackOnly, builds }: Context): Promise<void> {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.setHeader('Allow', 'GET, HEAD');
    return json(res, 405, { error: `${req.method} is not served: this server only reads` }, false);
  }
  if (loopbackOnly && !isLoopback(hostOf(req.headers.host))) {
    return json(res, 403, { error: `this server answers requests for localhost only, not '${req.headers.host ?? ''}'` }, head);
  }
  const url = targetOf(req.url ?? '/');
  if (url === null) return json(res, 400, { error: `a request for something that is not a path: ${req.url}` }, head);
  const segments = segmentsOf(url.pathname);
  if (segments === null) return json(res, 400, { error: `a path that is not valid percent-encoding: ${url.pathname}` }, head);
  const [first, name, ...rest] = segments;

  if (first === 'api') {
    const reply = withReadOnly(options.db, (db) => answer(db, segments.slice(1), url.query));
    return json(res, reply.status, reply.body, head);
  }
  if (first === undefined) return html(res, 200, withReadOnly(options.db, (db) => indexPage(options.db, listSweeps(db))), head);
  if (url.pathname === INDEX_ROWS_PATH) return html(res, 200, withReadOnly(options.db, (db) => indexRows(listSweeps(db))), head);
  if (first === 'sweeps' && name !== undefined && rest.length === 0) {
    const names = withReadOnly(options.db, sweepNames);
    if (!names.includes(name)) return html(res, 404, noSweepPage(name, names, options.db), head);
    // Ended where it is when the client goes away or the server closes: a page for no one.
    const stop = new AbortController();
    const gone = () => stop.abort(new Error('the client went away'));
    res.on('close', gone);
    builds.all.add(stop);
    let built;
    try {
      built = await builds.run(stop.signal, () =>
        buildReport(
          { db: options.db, sweeps: [name], html: true, png: null, version: options.version, writtenAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), live: true },
          { stopOnSignals: false, signal: stop.signal },
        ),
      );
    } catch (err) {
      if (stop.signal.aborted) return;
      throw err;
    } finally {
      res.off('close', gone);
      builds.all.delete(stop);
    }
    if (!('report' in built) || !built.report.html) throw new Error(`the report of ${name} was not made`);
    return html(res, 200, built.report.html, head);
  }
  if (first === 'sweeps' && name !== undefined && rest.length === 1 && rest[0] === 'compare') {
    const reply = withReadOnly(options.db, (db) => compare(db, options.db, name, url.query.get('trials')));
    return html(res, reply.status, reply.body, head);
  }
  // Browsers ask for it on every page: no icon, and no error in their console.
  if (first === 'favicon.ico' && name === undefined) {
    res.writeHead(204, HEADERS);
    return void res.end();
  }
  return html(res, 404, notFoundPage(`Nothing at ${url.pathname}.`), head);
}

/** The page for a sweep the database (at `path`) lacks, naming the nearest of those it has. */
const noSweepPage = (name: string, names: string[], path: string) => notFoundPage(`No sweep named '${name}' in ${path}${didYouMean(name, names)}.`);

/** The compare page of the trials `list` names (ids or prefixes, by commas) of `sweep`: 400 or 404 pages for what cannot be compared. */
function compare(db: Database.Database, path: string, sweep: string, list: string | null): { status: 200 | 400 | 404; body: string } {
  const names = sweepNames(db);
  if (!names.includes(sweep)) return { status: 404, body: noSweepPage(sweep, names, path) };
  const keys = (list ?? '').split(',').filter(Boolean);
  if (keys.length < 2 || keys.length > COMPARE_MOST) {
    return { status: 400, body: errorPage(`Choose 2 to ${COMPARE_MOST} trials to compare, by their ids: ${comparePath(sweep, ['ID', 'ID'])}; ${keys.length} given.`, 'Nothing to compare') };
  }
  const trials: TrialRecord[] = [];
  for (const key of keys) {
    let trial;
    try {
      trial = findTrial(db, key);
    } catch (err) {
      if (err instanceof UserError) return { status: 404, body: notFoundPage(err.message) };
      throw err;
    }
    if (trial.sweep !== sweep) return { status: 404, body: notFoundPage(`Trial ${trial.id} is of sweep '${trial.sweep}', not '${sweep}'.`) };
    if (!trials.some((t) => t.id === trial.id)) trials.push(trial);
  }
  if (trials.length < 2) return { status: 400, body: errorPage(`Choose 2 to ${COMPARE_MOST} different trials to compare; ${keys.join(', ')} name one.`, 'Nothing to compare') };
  return { status: 200, body: comparePage(sweep, trials, trials.map((t) => epochsOf(db, t.id))) };
}

/** Listens on options.host:options.port; rejects with the listen error (EADDRINUSE…) for the command to say. */
export function startServer(options: ServeOptions): Promise<RunningServer> {
  const context: Context = { options, loopbackOnly: isLoopback(options.host), builds: new Builds() };
  const server: Server = createServer((req, res) => {
    handle(req, res, context).catch((err: Error) => {
      options.onError?.(`${req.method} ${req.url}: ${err.message}`);
      if (res.headersSent) return void res.destroy();
      // A page asked by a person gets a page; a program asking the API, JSON.
      if ((req.url ?? '').startsWith('/api/')) json(res, 500, { error: err.message }, req.method === 'HEAD');
      else html(res, 500, errorPage(err.message), req.method === 'HEAD');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        url: `http://${shown}:${port}/`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
            // A page being made would hold the process until it was whole.
            for (const stop of context.builds.all) stop.abort(new Error('the server closes'));
          }),
      });
    });
  });
}
