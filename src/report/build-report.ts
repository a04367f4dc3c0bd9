/**
 * Building `sweep report`'s output off the main thread. Reading 150,000 trials and making their
 * page and charts takes minutes of JavaScript that no signal could interrupt on the main thread:
 * Ctrl-C waited for all of it, and the file was still written. Here a worker thread
 * (report-worker.ts) reads the database and makes everything; the main thread only waits, and a
 * stop signal ends the worker where it is. The worker writes nothing: it hands back the page and
 * the PNGs, which the command writes once they are whole, so a stop leaves no file at all.
 *
 * A signal that comes while SQLite computes a step of a query (ranking the trials) takes effect
 * when that step returns: a thread is only stopped between JavaScript instructions.
 */
import { Worker } from 'node:worker_threads';
import { UserError, type Problem } from '../config/errors.js';
import { STOP_SIGNALS, type StopSignal } from '../util/signals.js';

/** What the command asks of the worker: its options, checked already. */
export interface ReportJob {
  db: string;
  /** The sweeps named with --sweep (each once); none: the one the database holds, or its latest. */
  sweeps: string[];
  /** Make the HTML page. */
  html: boolean;
  /** Render every chart as a PNG for this folder (checked against what is there, not written). */
  png: { dir: string; force: boolean } | null;
  version: string;
  /** When the report is written (ISO time, to the second). */
  writtenAt: string;
  /** A page of one sweep that `sweep serve` sends, which updates itself (report/html.ts ReportMeta.live). */
  live?: boolean;
}

/** What the worker made: everything to write, and what to say about it. */
export interface BuiltReport {
  /** The page in pieces (it may be larger than one string or buffer can be), or null without --out. */
  html: Uint8Array[] | null;
  pngs: { path: string; data: Uint8Array }[];
  sweeps: { name: string; trials: number; notes: string[] }[];
  /** The database's other sweeps (said when the report was of the one it chose). */
  others: string[];
}

/** The worker's one message: what it made, a mistake in the options to refuse, or a failure. */
export type ReportReply =
  | { kind: 'built'; report: BuiltReport }
  | { kind: 'refused'; problems: Problem[] }
  | { kind: 'failed'; message: string; stack?: string };

/** How the build ended: the report, or the stop signal that ended it first. */
export type ReportOutcome = { report: BuiltReport } | { stoppedBy: StopSignal };

const WORKER = new URL('./report-worker.js', import.meta.url);

/**
 * Builds the report in a worker thread. `stopOnSignals` (the command's case): a stop signal ends
 * the worker and resolves with it; a server that builds pages while it runs handles the signals
 * itself and leaves them alone here, and ends a build with `signal` instead (its client went
 * away, or the server closes): the worker is ended where it is and the promise rejects with
 * the signal's reason. A worker left to finish would hold the process until it did (minutes
 * for a large sweep) after the server had closed.
 */
export function buildReport(job: ReportJob, { stopOnSignals = true, signal: abort }: { stopOnSignals?: boolean; signal?: AbortSignal } = {}): Promise<ReportOutcome> {
  if (abort?.aborted) return Promise.reject(abort.reason);
  const worker = new Worker(WORKER, { workerData: job });
  return new Promise<ReportOutcome>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      if (stopOnSignals) for (const signal of Object.keys(STOP_SIGNALS)) process.off(signal, onSignal);
      abort?.removeEventListener('abort', onAbort);
      outcome();
    };
    // The worker is ended at once, whatever it was making; the command exits with the signal's code.
    const onSignal = (signal: StopSignal) => settle(() => void worker.terminate().then(() => resolve({ stoppedBy: signal })));
    if (stopOnSignals) for (const signal of Object.keys(STOP_SIGNALS)) process.on(signal, onSignal);
    const onAbort = () => settle(() => void worker.terminate().then(() => reject(abort!.reason)));
    abort?.addEventListener('abort', onAbort);
    worker.on('message', (reply: ReportReply) =>
      settle(() => {
        if (reply.kind === 'built') resolve({ report: reply.report });
        else if (reply.kind === 'refused') reject(new UserError(reply.problems));
        else reject(Object.assign(new Error(reply.message), { stack: reply.stack }));
      }),
    );
    // An error the worker could not reply with (its heap exhausted): said as a failure.
    worker.on('error', (err) => settle(() => reject(err)));
    worker.on('exit', (code) => settle(() => reject(new Error(`the report's worker thread ended (exit code ${code}) before the report was made`))));
  });
}
