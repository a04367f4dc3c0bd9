/**
 * `sweep report [--db PATH] [--sweep NAME]... [--out FILE] [--force] [--png DIR]`: one
 * self-contained HTML file of one sweep or several side by side (report/html.ts), and the same
 * plots as PNG files. Every mistake in the options is refused before anything is read or
 * written; the file appears whole or not at all.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../config/errors.js';
import { chooseSweep } from '../dashboard/board.js';
import { readReportSweep, type ReportSweep } from '../report/data.js';
import { misclassifiedDigits } from '../report/digits.js';
import { reportHtml } from '../report/html.js';
import { specToPng } from '../report/render.js';
import { datasets, sweepCharts, withDatasets } from '../report/specs.js';
import { requireSweep, sweepNames } from '../store/queries.js';
import { withReadOnly } from '../store/open.js';
import { sayingDiskFull } from '../util/disk-full.js';
import { makeFolder, unmakeFolders } from '../util/make-folder.js';
import { writeFileAtomic, writeFilesAtomic } from '../util/write-atomic.js';
import { parse } from './args.js';
import { REPORT } from './commands.js';
import { checkOutputFile, checkOutputFolder, checkReplaceable, outputFull } from './output-path.js';
import { packageVersion } from './version.js';

/** Sweep names are file names already (the schema allows letters, digits, _ . - and no leading dot); anything else is encoded, never merged. */
const fileSafe = (name: string) => (/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) ? name : encodeURIComponent(name));

export async function reportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, REPORT);
  if (positionals.length) throw new UserError(`sweep report: unexpected argument '${positionals[0]}'; name sweeps with --sweep NAME`);
  const out = values.png !== undefined && values.out === undefined ? null : (values.out ?? 'report.html');
  if (out !== null) checkOutputFile(out, '--out', values.force!);
  if (values.png !== undefined) checkOutputFolder(values.png, '--png');

  const dbPath = values.db!;
  const { sweeps, others } = withReadOnly(dbPath, (db) => {
    const names = values.sweep?.length ? [...new Set(values.sweep)] : [chooseSweep(db)];
    for (const name of names) requireSweep(db, name);
    return { sweeps: names.map((name) => readReportSweep(db, name)), others: sweepNames(db).filter((n) => !names.includes(n)) };
  });
  await drawDigits(dbPath, sweeps);

  if (values.png !== undefined) {
    const written = await writePngs(sweeps, values.png, values.force!);
    console.log(`wrote ${written.length} PNG file${written.length === 1 ? '' : 's'} to ${values.png}`);
  }
  if (out !== null) {
    const html = reportHtml(sweeps, { db: dbPath, version: packageVersion(), writtenAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
    const bytes = Buffer.from(html);
    sayingDiskFull(outputFull(out, [bytes]), () => writeFileAtomic(out, bytes));
    const trials = sweeps.reduce((n, s) => n + s.trials.length, 0);
    console.log(`wrote ${out} (${(Buffer.byteLength(html) / 1e6).toFixed(2)} MB): ${sweeps.length === 1 ? `sweep ${sweeps[0].name}` : `sweeps ${sweeps.map((s) => s.name).join(', ')}`}, ${trials} trial${trials === 1 ? '' : 's'}`);
  }
  if (!values.sweep?.length && others.length) console.log(`the database has other sweeps too (${others.join(', ')}): --sweep NAME to report them, several --sweep to put them side by side`);
  for (const s of sweeps) for (const note of s.notes) console.log(`note: ${s.name}: ${note}`);
  return 0;
}

/** The misclassified digits of each sweep's best trial, from its checkpoint. */
async function drawDigits(dbPath: string, sweeps: ReportSweep[]): Promise<void> {
  for (const sweep of sweeps) {
    if (!sweep.confusion) continue;
    Object.assign(sweep.confusion, await misclassifiedDigits(dbPath, sweep.confusion.trial, sweep.confusion.pairs));
  }
}

/** Every chart of every sweep as `<sweep>-<chart>.png`; existing files are replaced only with --force. */
async function writePngs(sweeps: ReportSweep[], dir: string, force: boolean): Promise<string[]> {
  const files = sweeps.flatMap((sweep) => {
    const tables = datasets(sweep);
    return Object.entries(sweepCharts(sweep)).flatMap(([name, spec]) => (spec ? [{ path: join(dir, `${fileSafe(sweep.name)}-${name}.png`), spec: withDatasets(spec, tables) }] : []));
  });
  // What --force would not replace (a folder, a device, FIFO or link of a chart's name) is
  // refused first; then the files that exist, counted in one line, without --force.
  for (const f of files) checkReplaceable(f.path, '--png', { force: true, writes: 'file' });
  const existing = files.filter((f) => existsSync(f.path));
  if (existing.length && !force) throw new UserError({ file: existing[0].path, message: `--png: already exists${existing.length > 1 ? ` (and ${existing.length - 1} more of this report's files)` : ''}; give another folder, or --force to replace them` });
  const pngs: { path: string; data: Buffer }[] = [];
  for (const f of files) pngs.push({ path: f.path, data: await specToPng(f.spec) });
  // All of the charts or none: a full disk leaves no part of them, nor a folder made for them.
  sayingDiskFull(outputFull(dir, pngs.map((p) => p.data), '--png'), () => {
    const made = makeFolder(dir);
    try {
      writeFilesAtomic(pngs);
    } catch (err) {
      unmakeFolders(made);
      throw err;
    }
  });
  return files.map((f) => f.path);
}
