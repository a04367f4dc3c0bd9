/**
 * The promise of checkpoints: a sweep killed at any moment, again and again, and started again
 * each time, ends with the very numbers of a run that was never stopped, each epoch stored once.
 */
import Database from 'better-sqlite3';
import { type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../src/checkpoint/format.js';
import { checkpointRoot } from '../src/checkpoint/files.js';
import { startCli } from './cli-helpers.js';
import { tempDir } from './helpers.js';
import { smallDigits } from './small-digits.js';

const EPOCHS = 12;
/**
 * 256 of 384 training images, 128 validation and 128 test images: the numbers compared are those
 * of every epoch, however many images; the embedded split's 1,002 validation images would cost
 * each start more than its epoch of training.
 */
const EXPERIMENT = `
name: crash
data: { dataset: idx, dir: ${smallDigits(512, 128)}, validation: 0.25 }
training: { epochs: ${EPOCHS}, batch_size: 32, seed: 1, limit_train: 256 }
schedule: { name: plateau, patience: 0, factor: 0.5 }
model: { dropout: 0.2 }
augment: { rotate: 10 }
sweep:
  parameters:
    model.pooling: [avg, max]
    training.seed: [1, 2]
`;
const TRIALS = 4;
const KILLS = 20;

/** The numbers a run must reproduce (timings aside), trial by trial and epoch by epoch. */
function numbers(db: string) {
  const d = new Database(db, { readonly: true });
  try {
    return {
      epochs: d.prepare(`SELECT trial_id, epoch, train_loss, train_acc, val_loss, val_acc, lr FROM epochs ORDER BY trial_id, epoch`).all(),
      trials: d.prepare(`SELECT id, status, epochs, best_epoch, best_value, test_loss, test_acc FROM trials ORDER BY id`).all(),
      confusion: d.prepare(`SELECT * FROM confusion ORDER BY trial_id, actual, predicted`).all(),
    };
  } finally {
    d.close();
  }
}

/** Each trial's final weights and optimizer state, from its last checkpoint. */
function finalStates(db: string): Map<string, Map<string, Buffer>> {
  const root = checkpointRoot(db);
  const states = new Map<string, Map<string, Buffer>>();
  for (const trial of readdirSync(root)) {
    const c = decodeCheckpoint(readFileSync(join(root, trial, `epoch-${String(EPOCHS).padStart(4, '0')}.ckpt`)));
    states.set(trial, new Map([...c.tensors].map(([k, t]) => [k, Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength)])));
  }
  return states;
}

/** Any temporary checkpoint file in the folder, while a run writes one. */
function writingCheckpoint(root: string): boolean {
  try {
    return readdirSync(root).some((t) => readdirSync(join(root, t)).some((n) => n.endsWith('.tmp')));
  } catch {
    return false;
  }
}

type Moment = 'at random' | 'after an epoch' | 'while a checkpoint is written';

/**
 * One start of the sweep, stopped by `signal` at a moment of the given kind: at a random time
 * (starting up, opening the database, training, validating), right after an epoch was stored
 * (while the next epochs and their commits follow), or while a checkpoint file is being written.
 */
async function startAndStop(file: string, db: string, signal: NodeJS.Signals, moment: Moment, random: () => number, workers: string[]) {
  const root = checkpointRoot(db);
  let sent = false;
  let caughtWriting = false;
  let watcher: NodeJS.Timeout | undefined;
  const stop = (child: ChildProcess) => {
    if (sent) return;
    sent = true;
    clearInterval(watcher);
    child.kill(signal);
  };
  const started = performance.now();
  const result = startCli([file, '--db', db, '--no-tui', ...workers], (out, child) => {
    if (moment === 'at random') {
      watcher ??= setInterval(() => performance.now() - started > delay && stop(child), 5);
    } else if (moment === 'while a checkpoint is written') {
      watcher ??= setInterval(() => {
        if (!writingCheckpoint(root) || sent) return;
        caughtWriting = true;
        stop(child);
      }, 1);
    }
    // At the latest, just after the first epoch this start stores: a start stores about an
    // epoch per worker (two, 30 ms apart, where a worker trains 2 trials as one), and most
    // stops come before any, so the sweep (4 trials × 12 epochs) does not end before the 20th.
    if (/ epoch +\d+\//.test(out)) setTimeout(() => stop(child), random() * 30);
  });
  const delay = 200 + random() * 1500;
  const r = await result;
  clearInterval(watcher);
  return { ...r, caughtWriting, killed: r.signal === signal || (signal === 'SIGTERM' && r.code === 143) };
}

function seeded(seed: number) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

/** The run that never stopped, made once for both signals (the same file gives the same numbers). */
let uninterrupted: Promise<string> | undefined;
function referenceRun(): Promise<string> {
  uninterrupted ??= (async () => {
    const dir = tempDir();
    const file = join(dir, 'crash.yaml');
    writeFileSync(file, EXPERIMENT);
    const reference = join(dir, 'reference', 'runs.db');
    const whole = await startCli([file, '--db', reference, '--no-tui', '--workers', '2']);
    expect(whole.code, whole.stderr).toBe(0);
    return reference;
  })();
  return uninterrupted;
}

/** `workers`: how the crashed runs train (the uninterrupted one trains on 2 workers, each trial alone). */
async function crashUntilDone(signal: NodeJS.Signals, seed: number, workers: string[]) {
  const dir = tempDir();
  const file = join(dir, 'crash.yaml');
  writeFileSync(file, EXPERIMENT);
  const reference = await referenceRun();

  const db = join(dir, 'crashed', 'runs.db');
  const random = seeded(seed);
  const moments: Moment[] = ['at random', 'after an epoch', 'while a checkpoint is written'];
  let kills = 0;
  const byMoment = new Map<Moment, number>();
  const started = performance.now();
  for (let start = 0; ; start++) {
    const moment = moments[start % moments.length];
    const r = await startAndStop(file, db, signal, kills < KILLS ? moment : 'after an epoch', random, workers);
    if (!r.killed) {
      expect(r.code, r.stdout + r.stderr).toBe(0);
      break;
    }
    kills++;
    // A stop meant for a checkpoint write that saw none came at the cap: after an epoch.
    const happened = moment === 'while a checkpoint is written' && !r.caughtWriting ? 'after an epoch' : moment;
    byMoment.set(happened, (byMoment.get(happened) ?? 0) + 1);
    if (kills >= KILLS) break;
  }
  // The last start runs to its end.
  const last = await startCli([file, '--db', db, '--no-tui', ...workers]);
  expect(last.code, last.stderr).toBe(0);
  const seconds = (performance.now() - started) / 1000;
  console.log(`${signal}: ${kills} stops (${[...byMoment].map(([m, n]) => `${n} ${m}`).join(', ')}), ${seconds.toFixed(0)} s`);

  expect(kills).toBeGreaterThanOrEqual(KILLS);
  const got = numbers(db);
  expect(got.trials.map((t) => (t as { status: string }).status)).toEqual(Array(TRIALS).fill('completed'));
  // Each epoch stored exactly once, with the numbers of the run that never stopped.
  expect(got.epochs).toHaveLength(TRIALS * EPOCHS);
  expect(got).toEqual(numbers(reference));
  // The same final weights and optimizer state, bit for bit.
  expect(finalStates(db)).toEqual(finalStates(reference));
  const d = new Database(db, { readonly: true });
  try {
    expect(d.prepare(`SELECT count(*) AS n FROM attempts WHERE status = 'running'`).get()).toEqual({ n: 0 });
    expect((d.prepare(`SELECT count(*) AS n FROM attempts`).get() as { n: number }).n).toBeGreaterThan(TRIALS);
  } finally {
    d.close();
  }
  return kills;
}

describe('a sweep stopped again and again', () => {
  // Fused: the two trials of each pooling train as one computation on a worker, and are killed
  // mid-group; each must still end as the uninterrupted run trained it alone.
  it(`killed with SIGKILL at ${KILLS} random moments while trials train fused (--fuse 2) and restarted each time, ends as an uninterrupted unfused run`, async () => {
    await crashUntilDone('SIGKILL', 1, ['--workers', '2', '--fuse', '2']);
  }, 600_000);

  it(`stopped with SIGTERM at ${KILLS} random moments and restarted each time, ends as an uninterrupted run`, async () => {
    await crashUntilDone('SIGTERM', 2, ['--workers', '2']);
  }, 600_000);
});
