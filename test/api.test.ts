/**
 * The programmatic API (src/index.ts) as a user meets it. The README's example is
 * examples/run-sweep.ts, type-checked against the package's declarations (dist/index.d.ts, which
 * `lenet-sweep` names through package.json's exports) and run with node as a script of the
 * package, its output and database checked. Bad input rejects with the command's words, nothing
 * written.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { startSweep, UserError, type ExperimentFile, type SweepEvent } from '../dist/index.js';
import { CACHE, ROOT } from './cli-helpers.js';
import { config } from './experiment-fixture.js';
import { tempDir } from './helpers.js';

const EXAMPLE = join(ROOT, 'examples', 'run-sweep.ts');
const example = readFileSync(EXAMPLE, 'utf8');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = /\n## From TypeScript\n[\s\S]*?```ts\n([\s\S]*?)```\n[\s\S]*?```\n([\s\S]*?)```\n/.exec(readme);

/** The type errors of the example's text, checked as a file of the package (examples/run-sweep.ts) against dist/index.d.ts. */
function typeErrors(text: string): { errors: string[]; files: string[] } {
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (file, language, ...rest) => (file === EXAMPLE ? ts.createSourceFile(file, text, language) : getSourceFile(file, language, ...rest));
  const program = ts.createProgram([EXAMPLE], options, host);
  return {
    errors: ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    files: program.getSourceFiles().map((f) => f.fileName),
  };
}

/** The example made JavaScript and run by node from the package's folder (stdin's module resolves `lenet-sweep` from there). */
function runExample(db: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const js = ts.transpileModule(example, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  const child = spawn(process.execPath, ['--input-type=module', '-', db], { cwd: ROOT, env: { ...process.env, LENET_SWEEP_CACHE: CACHE, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(js);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('the README example (examples/run-sweep.ts)', () => {
  it('is the README\'s code, word for word', () => {
    expect(section, 'a ```ts block, then the output, under "## From TypeScript"').not.toBeNull();
    expect(section![1]).toBe(example);
  });

  it('type-checks against the package\'s declarations, and a wrong one would not', () => {
    const { errors, files } = typeErrors(example);
    expect(errors).toEqual([]);
    expect(files).toContain(join(ROOT, 'dist', 'index.d.ts'));
    expect(typeErrors(example.replace('event.metrics.val_acc', 'event.metrics.val_accuracy')).errors).toEqual([
      expect.stringMatching(/^Property 'val_accuracy' does not exist on type 'EpochMetrics'/),
    ]);
    expect(typeErrors(example.replace('{ db:', '{ database:')).errors).toEqual([expect.stringMatching(/'database' does not exist in type 'SweepOptions'/)]);
  });

  it('runs with node, printing what the README shows, and writes the database; run again, it trains nothing', async () => {
    const db = join(tempDir(), 'runs.db');
    const first = await runExample(db);
    expect([first.code, first.stderr]).toEqual([0, '']);
    expect(first.stdout).toBe(section![2]);

    const conn = new Database(db, { readonly: true });
    expect(conn.prepare(`SELECT name, file, status FROM sweeps`).all()).toEqual([{ name: 'from-typescript', file: '(inline experiment)', status: 'completed' }]);
    const stored = conn.prepare(`SELECT t.id, t.status, e.val_acc FROM trial_records t JOIN epoch_records e ON e.trial_id = t.id ORDER BY t.rowid`).all() as { id: string; status: string; val_acc: number }[];
    conn.close();
    const printed = [...first.stdout.matchAll(/^trial (\w+) \(model.pooling=\w+\) epoch 1: val_acc ([\d.]+)$/gm)].map((m) => ({ id: m[1], status: 'completed', val_acc: Number(m[2]) }));
    expect(stored.map((r) => ({ ...r, val_acc: Number(r.val_acc.toFixed(4)) }))).toEqual(printed);

    const again = await runExample(db);
    expect([again.code, again.stderr]).toEqual([0, '']);
    const lines = first.stdout.split('\n');
    expect(again.stdout).toBe([lines[0].replace('training 2 of', 'training 0 of'), lines.at(-2), ''].join('\n'));
  }, 120_000);
});

describe('startSweep', () => {
  process.env.LENET_SWEEP_CACHE ??= CACHE;
  const tiny: ExperimentFile = { name: 'api', training: { epochs: 1, limit_train: 128 } };

  /** The problems a start rejects with (a UserError), the database not created. */
  async function refusal(start: (db: string) => Promise<unknown>): Promise<string> {
    const db = join(tempDir(), 'runs.db');
    const err = await start(db).then(() => new Error('it started'), (e: unknown) => e);
    expect(existsSync(db)).toBe(false);
    if (!(err instanceof UserError)) throw err;
    return err.message;
  }

  it('refuses bad input with the command\'s words, before the database is opened', async () => {
    expect(await refusal((db) => startSweep(tiny, { db, keep: 'some' as 'best' }))).toBe("--keep: expected one of best, last, all, found 'some'");
    expect(await refusal((db) => startSweep(tiny, { db, workers: 0 }))).toBe("--workers: expected a positive integer, found '0'");
    // As the command line and a file's sweep.fuse refuse it.
    expect(await refusal((db) => startSweep(tiny, { db, fuse: 100 }))).toBe('--fuse: at most 64 trials train as one (as sweep.fuse in a file), found 100; use --fuse 64 or fewer');
    expect(await refusal((db) => startSweep({ ...tiny, training: { epochs: 0 } }, { db }))).toBe('(inline experiment): training.epochs: must be >= 1, found 0');
    // A resolved Experiment (every default written out) is an experiment object too.
    expect(await refusal((db) => startSweep(config({ training: { epochs: 0 } }), { db }))).toBe('(inline experiment): training.epochs: must be >= 1, found 0');
    expect(await refusal((db) => startSweep('experiments/smoke.yaml', { db, set: ['training.epochs=0'] }))).toBe('--set training.epochs=0: training.epochs: must be >= 1, found 0');
    expect(await refusal((db) => startSweep(tiny, { db, queue: 'redis://localhost:1', workers: 2 }))).toMatch(/^--workers: with --queue the agents train the trials/);
  });

  it('refuses options it does not know, or of another type (as from JavaScript), rather than passing them over', async () => {
    const untyped = (options: unknown) => options as Parameters<typeof startSweep>[1];
    expect(await refusal((db) => startSweep(tiny, untyped({ db, worker: 2 })))).toMatch(/^worker: unknown option \(did you mean 'workers'\?\); the options are db, workers, /);
    expect(await refusal((db) => startSweep(tiny, untyped({ db, set: 'training.epochs=2' })))).toBe("set: expected a list of strings, found 'training.epochs=2'");
    expect(await refusal((db) => startSweep(tiny, untyped({ db, workers: '2' })))).toBe("workers: expected a number, found '2'");
    expect(await refusal(() => startSweep(tiny, untyped(null)))).toBe('options: expected an object of options (db, workers, …), found null');
  });

  it('refuses a second session of a sweep while the first runs in the same process; once it has ended, runs it again', async () => {
    const db = join(tempDir(), 'runs.db');
    const first = await startSweep(tiny, { db, workers: 1 });
    const second = await startSweep(tiny, { db, workers: 1 }).then(() => null, (e: unknown) => e);
    expect(second).toBeInstanceOf(UserError);
    expect((second as Error).message).toBe("(inline experiment): sweep 'api' is already running in this database, in this process (another session of it has not ended); wait for it to end, or use another --db");
    expect((await first.done).status).toBe('completed');
    const again = await startSweep(tiny, { db, workers: 1, rerun: true });
    expect((await again.done).status).toBe('completed');
  }, 60_000);

  it('a listener that throws before training starts: the sweep is recorded as failed, not left running', async () => {
    const db = join(tempDir(), 'runs.db');
    const thrown = await startSweep(tiny, { db, workers: 1 }, (e) => {
      if (e.type === 'planned') throw new Error('the listener broke');
    }).then(() => null, (e: unknown) => e);
    expect((thrown as Error).message).toBe('the listener broke');
    const d = new Database(db, { readonly: true });
    try {
      expect(d.prepare(`SELECT status FROM sweeps`).all()).toEqual([{ status: 'failed' }]);
      expect(d.prepare(`SELECT count(*) AS n FROM trials WHERE status = 'running'`).get()).toEqual({ n: 0 });
    } finally {
      d.close();
    }
    // And this process may run it again.
    expect((await (await startSweep(tiny, { db, workers: 1 })).done).status).toBe('completed');
  }, 60_000);

  it('aborted before the database is opened, writes nothing', async () => {
    const db = join(tempDir(), 'runs.db');
    await expect(startSweep(tiny, { db, signal: AbortSignal.abort() })).rejects.toThrow(/aborted/);
    expect(existsSync(db)).toBe(false);
  });

  it('stops a run that trains when its signal is aborted, as stop() does', async () => {
    const controller = new AbortController();
    const session = await startSweep({ ...tiny, training: { epochs: 3, limit_train: 128 } }, { db: join(tempDir(), 'runs.db'), workers: 1, signal: controller.signal }, (e) => {
      if (e.type === 'epoch') controller.abort();
    });
    const outcome = await session.done;
    expect(session.stopping).toBe(true);
    expect(outcome).toMatchObject({ status: 'interrupted', stopped: true });
    expect([...outcome.statuses.values()]).toEqual(['interrupted']);
    expect(outcome.ranked()[0]).toMatchObject({ status: 'interrupted', epochs: 1 });
  }, 60_000);

  it('streams its events from the start to a reader that starts once it resolves, and ends with the outcome', async () => {
    const db = join(tempDir(), 'runs.db');
    const heard: SweepEvent['type'][] = [];
    const session = await startSweep(tiny, { db, workers: 1 }, (e) => heard.push(e.type));
    expect(session.plan).toMatchObject({ sweep: 'api', file: '(inline experiment)', db, runnable: 1, workers: 1, queue: null, ended: { completed: 0, pruned: 0 } });
    const read: SweepEvent['type'][] = [];
    for await (const event of session.events) read.push(event.type);
    const outcome = await session.done;
    expect(read).toEqual(heard);
    expect(read.filter((t) => t !== 'progress')).toEqual(['opening', 'planned', 'started', 'epoch', 'finished']);
    expect(outcome).toMatchObject({ status: 'completed', stopped: false, exhausted: false, reachedTarget: null });
    expect(outcome.ranked().map((t) => [t.id, t.status, t.rank])).toEqual([[session.plan.trials[0].id, 'completed', 1]]);
  }, 60_000);
});
