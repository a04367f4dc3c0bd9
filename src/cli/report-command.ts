/**
 * `sweep report [--db PATH] [--sweep NAME]... [--out FILE] [--force] [--png DIR]`: one
 * self-contained HTML file of one sweep or several side by side (report/html.ts), and the same
 * plots as PNG files. Every mistake in the options is refused before anything is read or
 * written; the file appears whole or not at all.
 */
import { UserError } from '../config/errors.js';
import { buildReport } from '../report/build-report.js';
import { sayingDiskFull } from '../util/disk-full.js';
import { makeFolder, unmakeFolders } from '../util/make-folder.js';
import { writeFileAtomic, writeFilesAtomic } from '../util/write-atomic.js';
import { parse } from './args.js';
import { REPORT } from './commands.js';
import { checkOutputFile, checkOutputFolder, outputFull } from '../util/output-path.js';
import { STOP_SIGNALS } from '../util/signals.js';
import { packageVersion } from '../version.js';

export async function reportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, REPORT);
  if (positionals.length) throw new UserError(`sweep report: unexpected argument '${positionals[0]}'; name sweeps with --sweep NAME`);
  const out = values.png !== undefined && values.out === undefined ? null : (values.out ?? 'report.html');
  if (out !== null) checkOutputFile(out, '--out', values.force!);
  if (values.png !== undefined) checkOutputFolder(values.png, '--png');

  // Read and made in a worker thread (report/build-report.ts), which a stop signal ends: nothing is written then.
  const outcome = await buildReport({
    db: values.db!,
    sweeps: [...new Set(values.sweep ?? [])],
    html: out !== null,
    png: values.png === undefined ? null : { dir: values.png, force: values.force! },
    version: packageVersion(),
    writtenAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  if ('stoppedBy' in outcome) return STOP_SIGNALS[outcome.stoppedBy];
  const { html, pngs, sweeps, others } = outcome.report;

  if (values.png !== undefined) {
    const dir = values.png;
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
    console.log(`wrote ${pngs.length} PNG file${pngs.length === 1 ? '' : 's'} to ${values.png}`);
  }
  if (out !== null && html !== null) {
    sayingDiskFull(outputFull(out, html), () => writeFileAtomic(out, html));
    const bytes = html.reduce((n, piece) => n + piece.byteLength, 0);
    const trials = sweeps.reduce((n, s) => n + s.trials, 0);
    console.log(`wrote ${out} (${(bytes / 1e6).toFixed(2)} MB): ${sweeps.length === 1 ? `sweep ${sweeps[0].name}` : `sweeps ${sweeps.map((s) => s.name).join(', ')}`}, ${trials} trial${trials === 1 ? '' : 's'}`);
  }
  if (!values.sweep?.length && others.length) console.log(`the database has other sweeps too (${others.join(', ')}): --sweep NAME to report them, several --sweep to put them side by side`);
  for (const s of sweeps) for (const note of s.notes) console.log(`note: ${s.name}: ${note}`);
  return 0;
}
