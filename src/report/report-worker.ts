/**
 * The worker thread that makes `sweep report`'s output (build-report.ts): it reads the sweeps
 * through a read-only connection of its own, draws the best trials' misclassified digits, renders
 * the PNGs and makes the page, and posts them back in one message, their buffers transferred, not
 * copied. It writes no file: stopped part way (a signal ends this thread), it leaves nothing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { UserError } from '../config/errors.js';
import { chooseSweep } from '../dashboard/board.js';
import { checkReplaceable } from '../util/output-path.js';
import { changeCursor, requireSweep, sweepNames } from '../store/queries.js';
import { withReadOnly } from '../store/open.js';
import type { BuiltReport, ReportJob, ReportReply } from './build-report.js';
import { readReportSweep, type ReportSweep } from './data.js';
import { misclassifiedDigits } from './digits.js';
import { reportHtml } from './html.js';
import { datasets, withDatasets } from './spec-datasets.js';
import { sweepCharts } from './sweep-charts.js';

/** The page is handed back in buffers of about this many bytes. */
const PIECE_BYTES = 4 * 1024 * 1024;

/** Sweep names are file names already (the schema allows letters, digits, _ . - and no leading dot); anything else is encoded, never merged. */
const fileSafe = (name: string) => (/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) ? name : encodeURIComponent(name));

async function build(job: ReportJob): Promise<BuiltReport> {
  const { sweeps, others, cursor } = withReadOnly(job.db, (db) => {
    const names = job.sweeps.length ? job.sweeps : [chooseSweep(db)];
    for (const name of names) requireSweep(db, name);
    // Read before the sweep: a change made while it is read is sent to a live page again, not lost.
    const cursor = job.live ? changeCursor(db, names[0])! : 0;
    return { sweeps: names.map((name) => readReportSweep(db, name)), others: sweepNames(db).filter((n) => !names.includes(n)), cursor };
  });
  await drawDigits(job.db, sweeps);
  const pngs = job.png ? await renderPngs(sweeps, job.png.dir, job.png.force) : [];
  const html = job.html ? pieces(reportHtml(sweeps, { db: job.db, version: job.version, writtenAt: job.writtenAt, ...(job.live ? { live: { cursor } } : {}) })) : null;
  return { html, pngs, sweeps: sweeps.map((s) => ({ name: s.name, trials: s.trials.length, notes: s.notes })), others };
}

/** The misclassified digits of each sweep's best trial, from its checkpoint. */
async function drawDigits(dbPath: string, sweeps: ReportSweep[]): Promise<void> {
  for (const sweep of sweeps) {
    if (!sweep.confusion) continue;
    Object.assign(sweep.confusion, await misclassifiedDigits(dbPath, sweep.confusion.trial, sweep.confusion.pairs));
  }
}

/** Every chart of every sweep as `<sweep>-<chart>.png`; existing files are to be replaced only with --force. */
async function renderPngs(sweeps: ReportSweep[], dir: string, force: boolean): Promise<BuiltReport['pngs']> {
  const files = sweeps.flatMap((sweep) => {
    const tables = datasets(sweep);
    return Object.entries(sweepCharts(sweep)).flatMap(([name, spec]) => (spec ? [{ path: join(dir, `${fileSafe(sweep.name)}-${name}.png`), spec: withDatasets(spec, tables) }] : []));
  });
  // What --force would not replace (a folder, a device, FIFO or link of a chart's name) is
  // refused first; then the files that exist, counted in one line, without --force. Both before
  // any chart is drawn.
  for (const f of files) checkReplaceable(f.path, '--png', { force: true, writes: 'file' });
  const existing = files.filter((f) => existsSync(f.path));
  if (existing.length && !force) throw new UserError({ file: existing[0].path, message: `--png: already exists${existing.length > 1 ? ` (and ${existing.length - 1} more of this report's files)` : ''}; give another folder, or --force to replace them` });
  // Vega for Node and resvg load only here: a page alone (sweep serve's, on every request) needs neither.
  const { specToPng } = await import('./render.js');
  const pngs: BuiltReport['pngs'] = [];
  for (const f of files) pngs.push({ path: f.path, data: await specToPng(f.spec) });
  return pngs;
}

/** Text made in parts, as UTF-8 buffers of about PIECE_BYTES: no string need hold all of it. */
function pieces(parts: Iterable<string>): Uint8Array[] {
  const utf8 = new TextEncoder();
  const buffers: Uint8Array[] = [];
  let pending: string[] = [];
  let length = 0;
  const flush = () => {
    buffers.push(utf8.encode(pending.join('')));
    pending = [];
    length = 0;
  };
  for (const part of parts) {
    pending.push(part);
    length += part.length;
    if (length >= PIECE_BYTES) flush();
  }
  if (pending.length) flush();
  return buffers;
}

function reply(message: ReportReply, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(message, transfer);
}

try {
  const report = await build(workerData as ReportJob);
  // The memory of each buffer that is all its own moves to the main thread rather than being
  // copied (hundreds of MB); a small one may share Node's pool with others, and is copied.
  const own = [...(report.html ?? []), ...report.pngs.map((p) => p.data)].filter((b) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength);
  reply({ kind: 'built', report }, [...new Set(own.map((b) => b.buffer as ArrayBuffer))]);
} catch (err) {
  if (err instanceof UserError) reply({ kind: 'refused', problems: err.problems });
  else reply({ kind: 'failed', message: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined });
}
