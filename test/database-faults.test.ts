/**
 * Faults of the database file and its folder, through the real CLI: a read-only folder, a device
 * given as the database, corrupt files, a folder removed while a sweep runs, and another
 * program holding the write lock. Each ends with a clear line, the right exit code and nothing
 * left behind that was not there before.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { patiently, strongestLock } from '../src/store/patience.js';
import { CACHE, CLI, cli, ROOT, startCli } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';

const SMOKE = 'experiments/smoke.yaml';
const TINY = ['--no-tui', '--set', 'training.limit_train=64'];

/** A folder no new file can be made in, even by root (chattr +i), and the way back. */
function readOnly(dir: string): () => void {
  if (process.getuid?.() === 0) {
    execFileSync('chattr', ['+i', dir]);
    return () => execFileSync('chattr', ['-i', dir]);
  }
  execFileSync('chmod', ['555', dir]);
  return () => execFileSync('chmod', ['755', dir]);
}

/**
 * A database of the smoke sweep, made once for the tests that start from one (a sweep each took
 * seconds of CPU); `smokeDb(dir)` copies it, with its checkpoints, to `dir`/runs.db for a test to
 * change. That the sweep leaves nothing beside its database (no -wal or -shm) is checked where it
 * is made.
 */
let madeSmoke: Promise<string> | undefined;
function smokeDb(dir: string): Promise<string> {
  madeSmoke ??= (async () => {
    const made = join(tempDir(), 'runs.db');
    const r = await cli(SMOKE, '--db', made, ...TINY);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readdirSync(join(made, '..')).filter((n) => n !== 'runs.db.checkpoints')).toEqual(['runs.db']);
    return made;
  })();
  return madeSmoke.then((made) => {
    const db = join(dir, 'runs.db');
    copyFileSync(made, db);
    cpSync(`${made}.checkpoints`, `${db}.checkpoints`, { recursive: true });
    return db;
  });
}

/** The read commands, each as a user would type it. */
const READS = [['runs', 'list'], ['runs', 'list', '--json'], ['runs', 'best'], ['runs', 'sql', 'SELECT count(*) FROM trials'], ['sweeps', 'list'], ['dashboard']];

describe('database files and folders', () => {
  it('a database in a read-only folder: read commands read it, a sweep says the folder is not writable', async () => {
    const dir = tempDir();
    const db = await smokeDb(dir);
    const undo = readOnly(dir);
    try {
      expect(() => writeFileSync(join(dir, 'probe'), '')).toThrow();
      for (const args of READS) {
        const r = await cli(...args, '--db', db);
        expect([args.join(' '), r.code, r.stderr]).toEqual([args.join(' '), 0, '']);
      }
      expect((await cli('runs', 'list', '--db', db, '--json')).stdout).toMatch(/"status": "completed"/);
      const sweep = await cli(SMOKE, '--db', db, ...TINY, '--rerun');
      expect(sweep.code).toBe(2);
      expect(sweep.stderr).toBe(`${db}: cannot open the database for writing (its folder ${dir} is not writable, and SQLite keeps its journal beside the database; read commands can still read it); choose another with --db PATH\n`);
    } finally {
      undo();
    }
    expect(readdirSync(dir).filter((n) => n !== 'runs.db.checkpoints')).toEqual(['runs.db']);
  });

  it('a database on a full disk: a runtime failure that says the disk is full (exit 1), not a refusal of --db, and nothing left there', () => {
    // A 64 kB tmpfs, full, in a mount namespace of this command's own: nothing outlives it.
    const mount = tempDir();
    const db = join(mount, 'runs.db');
    const command = [process.execPath, CLI, SMOKE, ...TINY, '--db', db].map((a) => `'${a}'`).join(' ');
    const script = `mount -t tmpfs -o size=64k tmpfs '${mount}' && head -c 65536 /dev/zero > '${mount}/fill' 2>/dev/null; ${command}; echo "exit $?"; ls '${mount}'`;
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { cwd: ROOT, env: { ...process.env, LENET_SWEEP_CACHE: CACHE, NO_COLOR: '1' }, encoding: 'utf8', timeout: 60_000 });
    expect([r.stdout, r.stderr]).toEqual(['exit 1\nfill\n', `error: ${db}: the disk holding the database is full (0 MB free); free some space there, or choose another with --db PATH\n`]);
  });

  it('a device or other non-file as --db is refused before SQLite opens it (no /dev/null-journal)', async () => {
    rmSync('/dev/null-journal', { force: true });
    for (const args of [[SMOKE, ...TINY], ['runs', 'list']]) {
      const r = await cli(...args, '--db', '/dev/null');
      expect([r.code, r.stderr]).toEqual([2, '/dev/null: is a device, not a database file; pass the database file with --db PATH (e.g. --db runs/runs.db)\n']);
    }
    expect(existsSync('/dev/null-journal')).toBe(false);
  });

  it("a pipe or folder where SQLite keeps the database's -wal, -shm or -journal is refused, and left there (SQLite deletes them)", async () => {
    const dir = tempDir();
    const db = join(dir, 'runs.db');
    mkdirSync(`${db}-shm`);
    execFileSync('mkfifo', [`${db}-wal`]);
    for (const args of [[SMOKE, ...TINY], ['runs', 'list']]) {
      const r = await cli(...args, '--db', db);
      expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `${db}-wal: is a pipe, where SQLite keeps the database's wal file (and would delete it); move it away, or choose another --db PATH\n`]);
    }
    rmSync(`${db}-wal`);
    const r = await cli('runs', 'list', '--db', db);
    expect(r.stderr).toBe(`${db}-shm: is a folder, where SQLite keeps the database's shm file (and would delete it); move it away, or choose another --db PATH\n`);
    expect(readdirSync(dir)).toEqual(['runs.db-shm']);
  });

  it('read commands leave no trace: no -wal or -shm beside a database, nor beside a corrupt one', async () => {
    const dir = tempDir();
    const db = await smokeDb(dir);
    for (const args of READS) expect((await cli(...args, '--db', db)).code).toBe(0);
    expect(readdirSync(dir).filter((n) => n !== 'runs.db.checkpoints')).toEqual(['runs.db']);
    // A database cut short, and a file of garbage that starts like one.
    const truncated = join(dir, 'truncated.db');
    copyFileSync(db, truncated);
    truncateSync(truncated, 8192);
    const garbage = join(dir, 'garbage.db');
    writeFileSync(garbage, `SQLite format 3\0${'x'.repeat(5000)}`);
    const text = join(dir, 'text.db');
    writeFileSync(text, 'name: not a database\n');
    for (const [file, why] of [[truncated, /a damaged database, cut short or overwritten in part \(database disk image is malformed\); restore it from a copy/], [garbage, /file is not a database/], [text, /not an SQLite file/]] as const) {
      for (const args of [['runs', 'list'], ['sweeps', 'list']]) {
        const r = await cli(...args, '--db', file);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(why);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
    }
    expect(readdirSync(dir).sort()).toEqual(['garbage.db', 'runs.db', 'runs.db.checkpoints', 'text.db', 'truncated.db']);
  });

  it('a database whose folder is removed while the sweep runs: exit 1, and the message says the results are gone', async () => {
    const dir = tempDir();
    const db = join(dir, 'sub', 'runs.db');
    const file = writeExperiment('name: gone\ntraining: { epochs: 20, limit_train: 1000 }\nsweep: { parameters: { training.seed: [1, 2] } }\n');
    let removed = false;
    const r = await startCli([file, '--db', db, '--no-tui'], (out) => {
      if (!removed && /epoch\s+1\/20/.test(out)) {
        removed = true;
        removeWhileWritten(join(dir, 'sub'));
      }
    });
    expect(removed).toBe(true);
    // The checkpoint of the epoch in flight does not make the removed folder again (it did).
    expect(existsSync(join(dir, 'sub'))).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${db}: the database file was deleted (or its folder removed) while the sweep ran; the results of this run are gone with it, so the sweep stopped; run it again\n`);
    expect(r.stdout).not.toMatch(/leaderboard/);
  });

  it('a database replaced while the sweep runs: exit 1, and the new file is left as it was (no journal of this run beside it)', async () => {
    const dir = tempDir();
    const other = await smokeDb(tempDir());
    const db = join(dir, 'sub', 'runs.db');
    const file = writeExperiment('name: swapped\ntraining: { epochs: 20, limit_train: 1000 }\nsweep: { parameters: { training.seed: [1, 2] } }\n');
    let swapped = false;
    const r = await startCli([file, '--db', db, '--no-tui'], (out) => {
      if (!swapped && /epoch\s+1\/20/.test(out)) {
        swapped = true;
        copyFileSync(other, `${db}.new`);
        renameSync(`${db}.new`, db);
      }
    });
    expect(swapped).toBe(true);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the database file was replaced by another file while the sweep ran; .*\(the file now there was left as it is\)/);
    // SQLite left this run's -wal beside the new file, and the next open replayed it into it.
    expect(readdirSync(join(dir, 'sub')).filter((n) => n !== 'runs.db.checkpoints')).toEqual(['runs.db']);
    const list = await cli('sweeps', 'list', '--db', db, '--json');
    expect(JSON.parse(list.stdout).map((s: { name: string }) => s.name)).toEqual(['smoke']);
  });

  it('a write lock held when the sweep starts is waited out too', async () => {
    const db = await smokeDb(tempDir());
    const holder = new Database(db);
    holder.exec('BEGIN IMMEDIATE');
    // Held until the sweep says it waits (not for a fixed time: a loaded machine took longer
    // than that to start the sweep, and found the lock already gone).
    const release = () => {
      if (!holder.open) return;
      holder.exec('COMMIT');
      holder.close();
    };
    let r;
    try {
      r = await startCli([SMOKE, '--db', db, ...TINY, '--rerun'], (out) => {
        if (/note: waiting for/.test(out)) setTimeout(release, 500);
      });
    } finally {
      release();
    }
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^note: waiting for \S+: it is locked by another program \(pid \d+, \S+\) holding the write lock/);
  });

  it('a stop while waiting for a lock stops without waiting (exit 143), saying what is not recorded', async () => {
    const db = await smokeDb(tempDir());
    const holder = new Database(db);
    holder.exec('BEGIN IMMEDIATE');
    try {
      let sent = false;
      const start = Date.now();
      const r = await startCli([SMOKE, '--db', db, ...TINY, '--rerun'], (out, child) => {
        if (!sent && /note: waiting for/.test(out)) {
          sent = true;
          child.kill('SIGTERM');
        }
      });
      expect(r.code).toBe(143);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^note: \S+ is locked by another program \(pid \d+, \S+\) holding the write lock \(an open write transaction\); stopped without waiting for it/m);
      expect(Date.now() - start).toBeLessThan(20_000);
    } finally {
      holder.exec('COMMIT');
      holder.close();
    }
  });

  it('another program holding the write lock for longer than SQLite waits: the sweep waits, says who holds it, and completes', async () => {
    const db = join(tempDir(), 'runs.db');
    let holder: Database.Database | undefined;
    const r = await startCli([SMOKE, '--db', db, ...TINY], (out) => {
      // Once the sweep has started training, lock the database for 12 s (SQLite alone waited 10).
      if (!holder && /started on/.test(out)) {
        holder = new Database(db);
        holder.exec('BEGIN IMMEDIATE');
        setTimeout(() => {
          holder!.exec('COMMIT');
          holder!.close();
        }, 12_000);
      }
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`note: waiting for ${db}: it is locked by another program \\(pid ${process.pid}, \\S+\\) holding the write lock \\(an open write transaction\\)`));
    const conn = new Database(db, { readonly: true });
    expect(conn.prepare(`SELECT status FROM sweeps`).pluck().get()).toBe('completed');
    expect(conn.prepare(`SELECT status FROM trials`).pluck().all()).toEqual(['completed', 'completed']);
    conn.close();
  });

  it('gives up after its patience, naming the file and the lock', async () => {
    const db = join(tempDir(), 'locked.db');
    const writer = new Database(db);
    writer.pragma('journal_mode = WAL');
    writer.pragma('busy_timeout = 50');
    writer.exec('CREATE TABLE t (x)');
    const other = new Database(db);
    other.exec('BEGIN IMMEDIATE');
    try {
      const waits: string[] = [];
      await expect(patiently(db, () => writer.exec('INSERT INTO t VALUES (1)'), { onWait: (h: string) => waits.push(h), patienceMs: 300 })).rejects.toThrow(
        `${db}: database is locked: another connection has held it for over 0 s; stop that program and run the sweep again (what is stored so far is kept)`,
      );
      // The lock is this process's own (another connection of it), which /proc/locks cannot tell apart.
      expect(waits).toEqual(['another connection']);
    } finally {
      other.exec('ROLLBACK');
      other.close();
      writer.close();
    }
  });

  it("names the lock that keeps the writer out, not the shared lock every open WAL connection holds, whatever /proc/locks lists first", () => {
    // As CI once saw it: the holder's shared lock on the database file listed before its -shm write lock.
    const files = new Map<number, 'db' | 'shm'>([
      [131073, 'db'],
      [131074, 'shm'],
    ]);
    const locks = [
      '1: POSIX  ADVISORY  READ  4242 08:02:131073 1073741826 1073742335',
      '2: POSIX  ADVISORY  READ  4242 08:02:131074 128 128',
      '3: POSIX  ADVISORY  WRITE 4242 08:02:131074 120 120',
      '4: POSIX  ADVISORY  WRITE 77 08:02:131074 121 121',
      '5: POSIX  ADVISORY  WRITE 4242 08:02:999999 120 120',
    ].join('\n');
    expect(strongestLock(locks, files, 1)).toEqual({ pid: 4242, lock: 'the write lock (an open write transaction)' });
    // Our own locks are never the other program's; a shared lock alone is still named.
    expect(strongestLock(locks, files, 4242)).toEqual({ pid: 77, lock: 'the checkpoint lock' });
    expect(strongestLock(locks.split('\n')[0], files, 1)).toEqual({ pid: 4242, lock: 'a shared lock' });
    expect(strongestLock('', files, 1)).toBeUndefined();
  });
});

/**
 * rm -rf of a folder the sweep's workers are writing checkpoints into: a file made between the
 * listing and the rmdir fails it with ENOTEMPTY, as it would a person's rm -rf, who would run it again.
 */
function removeWhileWritten(folder: string): void {
  for (let tries = 1; ; tries++) {
    try {
      return rmSync(folder, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' || tries === 20) throw err;
    }
  }
}
