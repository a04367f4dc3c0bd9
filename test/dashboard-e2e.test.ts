/**
 * The dashboard end to end: the real CLI in a real terminal (tmux) on tiny sweeps. The
 * leaderboard appears and updates, q + y stops cleanly (nothing left running), a finished sweep
 * leaves its final leaderboard on the screen, and `sweep dashboard` follows a sweep that another
 * process runs. In a CI job (where Ink draws only the last frame) both fall back to plain output.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startCli } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';
import { Terminal } from './terminal.js';

const terminals: Terminal[] = [];
const open = (args: string[], env: Record<string, string> = {}) => {
  const t = new Terminal(args, undefined, env);
  terminals.push(t);
  return t;
};
afterEach(() => {
  while (terminals.length) terminals.pop()!.close();
});

function stored(db: string) {
  const conn = new Database(db, { readonly: true });
  const sweeps = conn.prepare('SELECT name, status FROM sweeps').all() as { name: string; status: string }[];
  const trials = conn.prepare('SELECT id, status, epochs, epochs_planned FROM trials ORDER BY id').all() as { id: string; status: string; epochs: number; epochs_planned: number }[];
  conn.close();
  return { sweeps, trials };
}

/** The exit code a Terminal with `record` wrote, once the command has ended. */
async function recordedExit(record: string): Promise<string> {
  const code = join(record, 'code');
  for (let waited = 0; !existsSync(code) || readFileSync(code, 'utf8') === ''; waited += 100) {
    if (waited > 60_000) throw new Error('the command did not end after the hang-up');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return readFileSync(code, 'utf8').trim();
}

describe('sweep FILE on a terminal', () => {
  it('shows the leaderboard live; q asks, y stops cleanly and none is left running', async () => {
    const db = join(tempDir(), 'runs.db');
    const file = writeExperiment('name: long\ntraining: { epochs: 20, limit_train: 2000 }\nsweep: { parameters: { training.seed: [1, 2, 3] } }\n');
    const term = open([file, '--db', db, '--workers', '2']);
    const live = await term.waitFor(/\/20 \S+ running (.|\n)*\/20 \S+ running /);
    expect(live).toMatch(/lenet-sweep · long · val_acc \(higher is better\)/);
    expect(live).toMatch(/# trial +seed best val_acc/);
    expect(live).toMatch(/queued/);
    expect(live).toMatch(/0\/3 done · 2 running on 2 workers · elapsed/);
    expect(live).toMatch(/↑↓ select · Enter detail · s sort: metric · g group by config · q stop/);
    term.send('q');
    await term.waitFor(/stop the sweep\? y = stop, any other key = go on/);
    term.send('y');
    const end = await term.waitFor(/EXIT=\d+/);
    expect(end).toMatch(/EXIT=130/);
    expect(end).toMatch(/interrupted(.|\n)*interrupted/);
    expect(end).not.toMatch(/Error|at .*\.js:\d+/);
    const { sweeps, trials } = stored(db);
    expect(sweeps[0].status).toBe('interrupted');
    expect(trials.map((t) => t.status).sort()).toEqual(['interrupted', 'interrupted', 'queued']);
  });

  it('Ctrl-C reaches the dashboard as a key (raw mode) and stops as it does without one', async () => {
    const db = join(tempDir(), 'runs.db');
    const file = writeExperiment('name: long\ntraining: { epochs: 20, limit_train: 2000 }\nsweep: { parameters: { training.seed: [1, 2, 3] } }\n');
    const term = open([file, '--db', db, '--workers', '2']);
    await term.waitFor(/\/20 \S+ running /);
    term.send('C-c');
    // (The "stopping" notice can be gone before a capture sees it: the trials stop within a batch.)
    const end = await term.waitFor(/EXIT=\d+/);
    expect(end).toMatch(/sweep interrupted\nEXIT=/);
    expect(end).toMatch(/EXIT=130/);
    const { sweeps, trials } = stored(db);
    expect(sweeps[0].status).toBe('interrupted');
    expect(trials.map((t) => t.status)).not.toContain('running');
  });

  it('a closed terminal (SIGHUP) stops the sweep cleanly: trials interrupted, exit 129, nothing on stderr', async () => {
    const db = join(tempDir(), 'runs.db');
    const record = tempDir();
    const file = writeExperiment('name: long\ntraining: { epochs: 20, limit_train: 2000 }\nsweep: { parameters: { training.seed: [1, 2, 3] } }\n');
    const term = new Terminal([file, '--db', db, '--workers', '2'], undefined, {}, { record });
    terminals.push(term);
    await term.waitFor(/\/20 \S+ running /);
    term.hangUp();
    expect(await recordedExit(record)).toBe('129');
    // Node 20 aborted here with a native stack trace, restoring the settings of a terminal that was gone.
    expect(readFileSync(join(record, 'stderr'), 'utf8')).toBe('');
    const { sweeps, trials } = stored(db);
    expect(sweeps[0].status).toBe('interrupted');
    expect(trials.map((t) => t.status).sort()).toEqual(['interrupted', 'interrupted', 'queued']);
  });

  it('sweep dashboard on a closed terminal (SIGHUP) ends with 129, nothing on stderr, no -wal or -shm left', async () => {
    const db = join(tempDir(), 'runs.db');
    expect((await startCli(['experiments/smoke.yaml', '--db', db, '--no-tui', '--set', 'training.limit_train=64'])).code).toBe(0);
    const record = tempDir();
    const term = new Terminal(['dashboard', '--db', db], undefined, {}, { record });
    terminals.push(term);
    await term.waitFor(/lenet-sweep · smoke/);
    term.hangUp();
    expect(await recordedExit(record)).toBe('129');
    expect(readFileSync(join(record, 'stderr'), 'utf8')).toBe('');
    expect(readdirSync(join(db, '..')).filter((n) => n !== 'runs.db.checkpoints')).toEqual(['runs.db']);
  });

  it('sweep dashboard on a terminal, its input not one (< /dev/null), draws the board and ends with 0, no error', async () => {
    // It cannot take keys: Ink leaves nothing to wait for and unmounts it as the process would
    // end, after the command line's own check that a command did not stop half-way (cli/entry.ts).
    const db = join(tempDir(), 'runs.db');
    expect((await startCli(['experiments/smoke.yaml', '--db', db, '--no-tui', '--set', 'training.limit_train=64'])).code).toBe(0);
    const record = tempDir();
    const term = new Terminal(['dashboard', '--db', db], undefined, {}, { record, stdin: '/dev/null' });
    terminals.push(term);
    expect(await recordedExit(record)).toBe('0');
    expect(term.screen()).toMatch(/lenet-sweep · smoke/);
    expect(readFileSync(join(record, 'stderr'), 'utf8')).not.toMatch(/error/);
    expect(readdirSync(join(db, '..')).filter((n) => n !== 'runs.db.checkpoints')).toEqual(['runs.db']);
  });

  it('a sweep that ends leaves its final leaderboard on the screen and exits with its status', async () => {
    const db = join(tempDir(), 'runs.db');
    const term = open(['experiments/smoke.yaml', '--db', db]);
    const end = await term.waitFor(/EXIT=\d+/);
    expect(end).toMatch(/EXIT=0/);
    expect(end).toMatch(/ {2}1 \w{8} (avg|max) +\d+\.\d\d% +\d+\.\d\d% 1\/1 ██████████ completed/);
    expect(end).toMatch(/ {2}2 \w{8} (avg|max) +\d+\.\d\d% +\d+\.\d\d% 1\/1 ██████████ completed/);
    expect(end).toMatch(/2\/2 done · 0 running on 2 workers · elapsed \d+s · sweep completed\nEXIT=0/);
    expect(stored(db).trials.map((t) => [t.status, t.epochs])).toEqual([['completed', 1], ['completed', 1]]);
  });
  it('--no-tui gives one line per epoch on a terminal too', async () => {
    const db = join(tempDir(), 'runs.db');
    const term = open(['experiments/smoke.yaml', '--db', db, '--no-tui']);
    const end = await term.waitFor(/EXIT=\d+/);
    expect(end).toMatch(/\[1\/2 \w{12} model\.pooling=avg\] epoch 1\/1 {2}loss/);
    expect(end).toMatch(/^leaderboard \(val_acc, higher is better\)$/m);
    expect(end).not.toContain('lenet-sweep ·');
    expect(end).toMatch(/EXIT=0/);
  });
  it('in a CI job (CI=true) a terminal gets the plain lines too, and sweep dashboard prints the leaderboard once', async () => {
    // Ink draws only the last frame under CI, so a dashboard there would stay blank until the end.
    const db = join(tempDir(), 'runs.db');
    const sweep = open(['experiments/smoke.yaml', '--db', db], { CI: 'true' });
    const end = await sweep.waitFor(/EXIT=\d+/);
    expect(end).toMatch(/\[1\/2 \w{12} model\.pooling=avg\] epoch 1\/1 {2}loss/);
    expect(end).not.toContain('lenet-sweep ·');
    expect(end).toMatch(/EXIT=0/);
    const board = await open(['dashboard', '--db', db], { CI: 'true' }).waitFor(/EXIT=\d+/);
    expect(board).toMatch(/^1 +\w{12} +(avg|max) .* completed\n2 +\w{12} +(avg|max) .* completed\nEXIT=0/m);
    expect(board).not.toContain('q quit');
    expect(board).toMatch(/EXIT=0/);
  });
});

describe('sweep dashboard', () => {
  it('follows a sweep that another process runs, to its end; q quits', async () => {
    const db = join(tempDir(), 'runs.db');
    const file = writeExperiment('name: other\ntraining: { epochs: 4, limit_train: 2000 }\nsweep: { parameters: { model.pooling: [avg, max] } }\n');
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const sweep = startCli([file, '--db', db, '--no-tui'], (out) => /started on/.test(out) && started());
    await running;
    const term = open(['dashboard', '--db', db]);
    const live = await term.waitFor(/\/4 \S+ running /);
    expect(live).toMatch(/lenet-sweep · other · val_acc/);
    expect(live).toMatch(/q quit/);
    const result = await sweep;
    expect(result.code).toBe(0);
    const end = await term.waitFor(/2\/2 done .*sweep completed/);
    expect(end.match(/ completed /g)).toHaveLength(2);
    term.send('q');
    expect(await term.waitFor(/EXIT=\d+/)).toMatch(/EXIT=0/);
  });
});
