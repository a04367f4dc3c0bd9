/** The real `sweep` CLI as a child process, on real SQLite files and a real worker pool. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/store/schema.js';
import { CLI, cli, startCli } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';

const SMOKE = 'experiments/smoke.yaml';

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function readDb(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    return {
      sweeps: db.prepare('SELECT name, status FROM sweeps').all() as { name: string; status: string }[],
      trials: db.prepare('SELECT id, status, attempt, backend, params, test_acc, param_count FROM trials ORDER BY id').all() as {
        id: string; status: string; attempt: number; backend: string; params: string; test_acc: number | null; param_count: number;
      }[],
      epochs: db.prepare('SELECT trial_id, epoch, val_acc, lr FROM epochs').all() as { trial_id: string; epoch: number }[],
    };
  } finally {
    db.close();
  }
}

/** A long sweep of `seeds` trials on 2 workers, sent `signal` once the first epoch is printed. */
async function signalAfterFirstEpoch(name: string, seeds: number, signal: NodeJS.Signals) {
  const db = join(tempDir(), 'runs.db');
  const list = Array.from({ length: seeds }, (_, i) => i + 1).join(', ');
  const file = writeExperiment(`name: ${name}\ntraining: { epochs: 20, limit_train: 2000 }\nsweep: { parameters: { training.seed: [${list}] } }\n`);
  let sent = false;
  const result = await startCli([file, '--db', db, '--workers', '2'], (out, child) => {
    if (!sent && /epoch\s+1\/20/.test(out)) {
      sent = true;
      child.kill(signal);
    }
  });
  expect(sent).toBe(true);
  return { db, result };
}

describe('sweep FILE', () => {
  it('runs every trial on the pool, writes the database and prints epochs and a leaderboard', async () => {
    const db = join(tempDir(), 'runs.db');
    const r = await cli(SMOKE, '--db', db);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/running 2 on 2 workers \(backend auto → wasm\)/);
    expect(r.stdout.match(/epoch 1\/1 {2}loss/g)).toHaveLength(2);
    expect(r.stdout).toMatch(/leaderboard \(val_acc, higher is better\)\n#\s+trial\s+model\.pooling\s+best val_acc/);
    const { sweeps, trials, epochs } = readDb(db);
    expect(sweeps).toEqual([{ name: 'smoke', status: 'completed' }]);
    expect(trials.map((t) => [t.status, t.attempt, t.backend, t.param_count])).toEqual([
      ['completed', 1, 'wasm', 61706],
      ['completed', 1, 'wasm', 61706],
    ]);
    expect(trials.map((t) => JSON.parse(t.params)['model.pooling']).sort()).toEqual(['avg', 'max']);
    expect(epochs).toHaveLength(2);

    const list = await cli('runs', 'list', '--db', db, '--json');
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({ sweep: 'smoke', status: 'completed', epochs: 1, backend: 'wasm' });
      expect(row.id).toMatch(/^[0-9a-f]{12}$/);
      expect(Object.keys(row.params)).toEqual(['model.pooling']);
      for (const key of ['val_acc', 'test_acc']) expect(row[key]).toBeGreaterThanOrEqual(0), expect(row[key]).toBeLessThanOrEqual(1);
      expect(row.images_per_s).toBeGreaterThan(0);
    }
    expect(rows[0].val_acc).toBeGreaterThanOrEqual(rows[1].val_acc);

    // Running the file again keeps the completed trials; --rerun trains them again.
    const again = await cli(SMOKE, '--db', db);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/2 trials, 2 already completed/);
    expect(again.stdout).not.toMatch(/epoch 1\/1/);
    const rerun = await cli(SMOKE, '--db', db, '--rerun', '--workers', '1');
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/running 2 on 1 worker /);
    expect(readDb(db).trials.map((t) => t.attempt)).toEqual([2, 2]);
    expect(readDb(db).epochs).toHaveLength(2);
  });

  it('--backend merges trials that differed only in their backend', async () => {
    const db = join(tempDir(), 'runs.db');
    const r = await cli(SMOKE, '--db', db, '--grid', 'backend=wasm,cpu', '--set', 'training.limit_train=64', '--backend', 'wasm');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readDb(db).trials.map((t) => [t.backend, Object.keys(JSON.parse(t.params))])).toEqual([
      ['wasm', ['model.pooling']],
      ['wasm', ['model.pooling']],
    ]);
  });

  it('Ctrl-C stops cleanly: running trials become interrupted, none stays running', async () => {
    const { db, result: r } = await signalAfterFirstEpoch('long', 3, 'SIGINT');
    expect(r.code).toBe(130);
    expect(r.stdout).toContain('stopping (SIGINT): the running trials end after their current batch (Ctrl-C again to stop at once)');
    const { sweeps, trials } = readDb(db);
    expect(sweeps[0].status).toBe('interrupted');
    const statuses = trials.map((t) => t.status).sort();
    expect(statuses).not.toContain('running');
    expect(statuses.filter((s) => s === 'interrupted')).toHaveLength(2);
    expect(statuses).toContain('queued');
  });
});

describe('SIGTERM (timeout, systemd, docker, CI) and SIGHUP stop a sweep as Ctrl-C does', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s: running trials end after their batch, marked interrupted; exit %i', async (signal, code) => {
    const { db, result: r } = await signalAfterFirstEpoch(`by-${signal}`, 3, signal);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(code);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`stopping (${signal}): the running trials end after their current batch (${signal} again to stop at once)`);
    const { sweeps, trials } = readDb(db);
    expect(sweeps[0].status).toBe('interrupted');
    expect(trials.map((t) => t.status).sort()).toEqual(['interrupted', 'interrupted', 'queued']);
  });

  it('a second signal stops at once, and the database is still closed properly', async () => {
    const db = join(tempDir(), 'runs.db');
    // Batches of 1,000 images: the second signal (50 ms after the first) comes while the
    // running trials are still in the batch they end after, never after the run has ended
    // (small batches let a graceful stop finish first, and the signal then met the exiting
    // process's default handling).
    const file = writeExperiment('name: twice\ntraining: { epochs: 20, limit_train: 2000, batch_size: 1000 }\nsweep: { parameters: { training.seed: [1, 2, 3] } }\n');
    let sent = false;
    const r = await startCli([file, '--db', db, '--workers', '2'], (out, child) => {
      if (!sent && /epoch\s+1\/20/.test(out)) {
        sent = true;
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGTERM'), 50);
      }
    });
    // Code, signal and stderr together: a failure says whether the process was ended by a signal (which one) or said why.
    expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 143, signal: null, stderr: '' });
    // Closed, not abandoned: the last connection to close takes its WAL files with it.
    expect(readdirSync(join(db, '..')).sort()).toEqual(['runs.db', 'runs.db.checkpoints']);
    const { sweeps, trials } = readDb(db);
    expect(sweeps[0].status).toBe('interrupted');
    expect(trials.map((t) => t.status)).not.toContain('running');
  });
});

describe('a reader that goes away (| head)', () => {
  it('a sweep stops as with Ctrl-C: no stack trace, no trial left running', async () => {
    const db = join(tempDir(), 'runs.db');
    const file = writeExperiment('name: piped\ntraining: { epochs: 20, limit_train: 2000 }\nsweep: { parameters: { training.seed: [1, 2] } }\n');
    let closed = false;
    const r = await startCli([file, '--db', db], (out, child) => {
      if (!closed && /started on/.test(out)) {
        closed = true;
        child.stdout!.destroy();
      }
    });
    expect(closed).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toBe('');
    const conn = new Database(db, { readonly: true });
    expect(conn.prepare('SELECT status FROM sweeps').pluck().get()).toBe('interrupted');
    expect(conn.prepare('SELECT status FROM trials').pluck().all()).not.toContain('running');
    conn.close();
  });

  it('a query ends quietly with exit 0', async () => {
    // A database to point at (64 images: the query reads none of it).
    const db = join(tempDir(), 'runs.db');
    expect((await cli(SMOKE, '--db', db, '--no-tui', '--set', 'training.limit_train=64')).code).toBe(0);
    // Far more output than a pipe holds, so the writes after head has gone fail.
    const rows = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200000) SELECT x FROM c';
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" runs sql "${rows}" --db "${db}" | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('0');
  });
});

describe('a sweep killed outright (SIGKILL)', () => {
  it('stays marked running, and readers on this host say its process is gone', async () => {
    const { db, result: r } = await signalAfterFirstEpoch('killed', 2, 'SIGKILL');
    expect(r.signal).toBe('SIGKILL');
    const [sweep] = JSON.parse((await cli('sweeps', 'list', '--db', db, '--json')).stdout);
    expect(sweep).toMatchObject({ name: 'killed', status: 'running', process_gone: true });
    expect((await cli('sweeps', 'list', '--db', db)).stdout).toMatch(/killed +running \(process gone\)/);
  });
});

describe('a command that never finishes', () => {
  // What every command runs in (cli/entry.ts), given a command whose promise no one settles and
  // nothing left alive: Node would end the process with 0, half the output missing.
  const entry = (command: string) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', `import { runCommandLine } from ${JSON.stringify(join(CLI, '..', 'entry.js'))}; runCommandLine(${command});`], { encoding: 'utf8' });

  it('ends with 1 and says so, not with a silent 0', () => {
    const r = entry('() => new Promise(() => {})');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: internal error: the command stopped before it finished/);
  });

  it('one that finishes keeps its own exit code and says nothing more', () => {
    const r = entry('async () => 3');
    expect([r.status, r.stderr]).toEqual([3, '']);
  });

  it('one that a later beforeExit listener ends (as Ink ends the dashboard) ends with its code at once, not after the wait', () => {
    // It prints how long the process lived on after the command settled: the wait for a verdict
    // held it 250 ms.
    const r = entry(`() => new Promise((resolve) => process.once('beforeExit', () => resolve(4))).then((code) => {
      const settled = performance.now();
      process.on('exit', () => console.log(Math.round(performance.now() - settled)));
      return code;
    })`);
    expect([r.status, r.stderr]).toEqual([4, '']);
    expect(Number(r.stdout)).toBeLessThan(150);
  });
});

describe('bad input', () => {
  async function expectUserError(args: string[], message: RegExp, db: string) {
    const r = await cli(...args, '--db', db);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(db)).toBe(false);
  }

  it('a missing file, broken YAML or a schema failure: one line, exit 2, no database written', async () => {
    const db = join(tempDir(), 'runs.db');
    await expectUserError(['experiments/nope.yaml'], /^experiments\/nope\.yaml: no such file$/m, db);
    const broken = writeExperiment('name: x\nmodel: [avg\n');
    await expectUserError([broken], new RegExp(`^${broken}:3:1: `, 'm'), db);
    const invalid = writeExperiment('name: x\nmodel: { pooling: maxx }\n');
    await expectUserError([invalid], new RegExp(`^${invalid}:2:19: model.pooling: expected one of avg, max, found 'maxx' \\(did you mean 'max'\\?\\)$`, 'm'), db);
  });

  it('a backend that is not installed says how to install it', async () => {
    const db = join(tempDir(), 'runs.db');
    await expectUserError([SMOKE, '--backend', 'tensorflow-gpu'], /--backend: backend 'tensorflow-gpu' is not installed: install it with `npm install @tensorflow\/tfjs-node-gpu`/, db);
    await expectUserError([SMOKE, '--backend', 'tpu'], /--backend: expected one of auto, tensorflow-gpu, webgpu, tensorflow, wasm, cpu, found 'tpu'/, db);
  });

  it('an unwritable database path is refused before any training', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'x');
    const r = await cli(SMOKE, '--db', join(dir, 'file', 'runs.db'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/file\/runs\.db: cannot open the database for writing .*; choose another with --db PATH/);
    expect(r.stdout).toBe('');
  });

  it('a database that is not ours, or from a newer version, is refused and left unchanged, byte for byte', async () => {
    const dir = tempDir();
    const foreign = join(dir, 'foreign.db');
    const f = new Database(foreign);
    f.exec('CREATE TABLE notes (x); INSERT INTO notes VALUES (1);');
    f.close();
    const newer = join(dir, 'newer.db');
    const n = new Database(newer);
    n.pragma('user_version = 99');
    n.exec('CREATE TABLE future (x)');
    n.close();
    const before = { foreign: digest(foreign), newer: digest(newer) };
    // Every command that refuses them: a sweep, sweep upgrade (both write to databases they accept) and a reader.
    for (const command of [[SMOKE, '--no-tui'], ['upgrade'], ['runs', 'list']]) {
      const r = await cli(...command, '--db', foreign);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^\S*foreign\.db: not a lenet-sweep database \(it has tables but no lenet-sweep schema version\)\n$/);
      expect(digest(foreign)).toBe(before.foreign);
      const v = await cli(...command, '--db', newer);
      expect(v.code).toBe(2);
      expect(v.stderr).toMatch(new RegExp(`^\\S*newer\\.db: database schema version 99 is newer than this lenet-sweep understands \\(${SCHEMA_VERSION}\\); upgrade lenet-sweep\n$`));
      expect(digest(newer)).toBe(before.newer);
    }
    expect(readdirSync(dir).sort()).toEqual(['foreign.db', 'newer.db']);
    const check = new Database(foreign, { readonly: true });
    expect(check.prepare(`SELECT name FROM sqlite_master`).all()).toEqual([{ name: 'notes' }]);
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    check.close();
  });

  it('a directory or an empty --db is refused before any training', async () => {
    const dir = tempDir();
    const r = await cli(SMOKE, '--no-tui', '--db', dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${dir}: is a directory, not a database file; pass the database file with --db PATH (e.g. --db runs/runs.db)\n`);
    expect(readdirSync(dir)).toEqual([]);
    // A folder that does not exist yet, named as one (trailing slash): no file made under that name.
    const folder = join(dir, 'runs/');
    const named = await cli(SMOKE, '--no-tui', '--db', folder);
    expect(named.code).toBe(2);
    expect(named.stderr).toBe(`${folder}: is a directory, not a database file; pass the database file with --db PATH (e.g. --db runs/runs.db)\n`);
    expect(readdirSync(dir)).toEqual([]);
    const empty = await cli(SMOKE, '--no-tui', '--db', '');
    expect(empty.code).toBe(2);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toBe('--db: expected a path to the database file, found an empty string\n');
  });

  it('a sweep on an empty file makes it the database', async () => {
    const db = join(tempDir(), 'empty.db');
    writeFileSync(db, '');
    const r = await cli(SMOKE, '--no-tui', '--db', db, '--set', 'training.limit_train=64');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readDb(db).trials).toHaveLength(2);
  });

  it('runs list on a missing database or an unknown sweep', async () => {
    const missing = await cli('runs', 'list', '--db', '/nonexistent/runs.db');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('/nonexistent/runs.db: no such database; run a sweep first or pass --db PATH\n');
    const bad = await cli('runs', 'list', '--bogus');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^sweep runs list: Unknown option '--bogus'; see sweep runs list --help$/m);
  });
});
