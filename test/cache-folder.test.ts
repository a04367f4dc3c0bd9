/**
 * The dataset cache folder ($LENET_SWEEP_CACHE, else $XDG_CACHE_HOME/lenet-sweep, else
 * ~/.cache/lenet-sweep) where it cannot be made or written: one line naming the variable and
 * the fix, exit 2, before the database is opened. Through the real CLI.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeFolder } from '../src/util/make-folder.js';
import { CACHE, CLI, ROOT } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';

const EXPERIMENT = 'name: cache\ntraining: { epochs: 1, limit_train: 64 }\n';

/**
 * The CLI with these variables (an empty one is unset), killed after 30 s: before the fix a cache
 * under /proc made it spin in native code, deaf to SIGTERM.
 */
function sweepWith(env: Record<string, string>) {
  const dir = tempDir();
  const db = join(dir, 'runs.db');
  const r = spawnSync(process.execPath, [CLI, writeExperiment(EXPERIMENT), '--no-tui', '--db', db], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', LENET_SWEEP_CACHE: '', XDG_CACHE_HOME: '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
    killSignal: 'SIGKILL',
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, dbMade: existsSync(db) };
}

const FIX = 'set LENET_SWEEP_CACHE to a folder this user can write, or unset it to use ~/.cache/lenet-sweep';

describe('a cache folder that cannot be made or written', () => {
  it('LENET_SWEEP_CACHE naming a file, or a folder under one: the variable and the fix, exit 2, no database', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'not a folder');
    for (const cache of [file, join(file, 'sub', 'cache')]) {
      expect(sweepWith({ LENET_SWEEP_CACHE: cache })).toEqual({
        code: 2,
        signal: null,
        stdout: '',
        stderr: `LENET_SWEEP_CACHE=${cache}: the dataset cache ${cache} cannot be made or written (${file} is a file, not a folder); ${FIX}\n`,
        dbMade: false,
      });
    }
  });

  it('XDG_CACHE_HOME or HOME naming a file: that variable is named', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'not a folder');
    expect(sweepWith({ XDG_CACHE_HOME: file })).toMatchObject({
      code: 2,
      stderr: `XDG_CACHE_HOME=${file}: the dataset cache ${join(file, 'lenet-sweep')} cannot be made or written (${file} is a file, not a folder); set XDG_CACHE_HOME to a folder this user can write, or LENET_SWEEP_CACHE to one for lenet-sweep alone\n`,
      dbMade: false,
    });
    expect(sweepWith({ HOME: file })).toMatchObject({
      code: 2,
      stderr: `HOME=${file}: the dataset cache ${join(file, '.cache', 'lenet-sweep')} cannot be made or written (${file} is a file, not a folder); set LENET_SWEEP_CACHE to a folder this user can write (or HOME to a home folder)\n`,
      dbMade: false,
    });
  });

  it('places no folder can be made in, even by root: /proc (where mkdir -p spun forever) and /sys', () => {
    const proc = sweepWith({ LENET_SWEEP_CACHE: '/proc/lenet-sweep-cache' });
    expect(proc).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: `LENET_SWEEP_CACHE=/proc/lenet-sweep-cache: the dataset cache /proc/lenet-sweep-cache cannot be made or written (no folder can be made in /proc); ${FIX}\n`,
      dbMade: false,
    });
    // sysfs refuses new entries (EPERM; read-only, EROFS, in most containers; EACCES for other users).
    const sys = sweepWith({ LENET_SWEEP_CACHE: '/sys/lenet-sweep-cache' });
    expect(sys.code).toBe(2);
    expect(sys.stderr).toMatch(new RegExp(`^LENET_SWEEP_CACHE=/sys/lenet-sweep-cache: the dataset cache /sys/lenet-sweep-cache cannot be made or written \\((this user may not write in /sys|/sys is on a read-only file system)\\); ${FIX.replace(/[.~]/g, '\\$&')}\\n$`));
    expect(sys.dbMade).toBe(false);
  });

  it('evaluate says the same (every command prepares its dataset the same way)', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    // The trial is looked up first: give evaluate a trained one, with a good cache.
    const cache = tempDir();
    const db = join(tempDir(), 'runs.db');
    const train = spawnSync(process.execPath, [CLI, writeExperiment(EXPERIMENT), '--no-tui', '--db', db], { cwd: ROOT, env: { ...process.env, LENET_SWEEP_CACHE: cache }, encoding: 'utf8' });
    expect(train.status, train.stderr).toBe(0);
    const r = spawnSync(process.execPath, [CLI, 'evaluate', 'best', '--data', 'mnist', '--db', db], { cwd: ROOT, env: { ...process.env, LENET_SWEEP_CACHE: file }, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    expect([r.status, r.stdout, r.stderr]).toEqual([2, '', `LENET_SWEEP_CACHE=${file}: the dataset cache ${file} cannot be made or written (${file} is a file, not a folder); ${FIX}\n`]);
  });
});

describe('where the cache goes when no variable names a usable folder', () => {
  /** A sweep in a folder of its own with these variables; what it left there. */
  const sweepIn = (env: Record<string, string>) => {
    const cwd = tempDir();
    const r = spawnSync(process.execPath, [CLI, writeExperiment(EXPERIMENT), '--no-tui', '--db', join(cwd, 'runs.db')], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', LENET_SWEEP_CACHE: '', XDG_CACHE_HOME: '', ...env },
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, cwd };
  };

  it('a HOME that does not exist (a system user\'s /nonexistent) is refused, not made: root would make it', () => {
    const home = join(tempDir(), 'nonexistent');
    const r = sweepIn({ HOME: home });
    expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `HOME=${home}: no such folder, and the dataset cache (${join(home, '.cache', 'lenet-sweep')}) is not made there; set LENET_SWEEP_CACHE to a folder this user can write\n`]);
    expect(existsSync(home)).toBe(false);
  });

  it('a relative XDG_CACHE_HOME is ignored, as the XDG Base Directory spec says: not a cache in whatever folder the command runs from', () => {
    const home = tempDir();
    const r = sweepIn({ HOME: home, XDG_CACHE_HOME: 'relative-cache' });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(existsSync(join(r.cwd, 'relative-cache'))).toBe(false);
    expect(statSync(join(home, '.cache', 'lenet-sweep')).isDirectory()).toBe(true);
  });
});

describe('folders made one level at a time (makeFolder)', () => {
  it('--db under /proc: one line, exit 2 (mkdir -p spun there forever, deaf to SIGTERM)', () => {
    const r = spawnSync(process.execPath, [CLI, writeExperiment(EXPERIMENT), '--no-tui', '--db', '/proc/lenet-sweep-test/runs.db'], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', LENET_SWEEP_CACHE: CACHE },
      encoding: 'utf8',
      timeout: 30_000,
      killSignal: 'SIGKILL',
    });
    expect([r.status, r.stdout, r.stderr]).toEqual([2, '', '/proc/lenet-sweep-test/runs.db: cannot open the database for writing (no folder can be made in /proc); choose another with --db PATH\n']);
  });

  it('makes missing parents as mkdir -p; refuses a file in the way; fails at once under /proc', () => {
    const dir = tempDir();
    makeFolder(join(dir, 'a', 'b', 'c'));
    expect(statSync(join(dir, 'a', 'b', 'c')).isDirectory()).toBe(true);
    makeFolder(join(dir, 'a', 'b', 'c'));
    mkdirSync(join(dir, 'x'));
    writeFileSync(join(dir, 'x', 'f'), '');
    expect(() => makeFolder(join(dir, 'x', 'f'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(() => makeFolder(join(dir, 'x', 'f', 'g'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(() => makeFolder('/proc/lenet-sweep-test/a')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('within a folder: makes what is missing below it, and nothing when it is gone', () => {
    const dir = tempDir();
    expect(makeFolder(join(dir, 'db', 'c', 't'), dir)).toEqual([join(dir, 'db'), join(dir, 'db', 'c'), join(dir, 'db', 'c', 't')]);
    expect(() => makeFolder(join(dir, 'gone', 'c', 't'), join(dir, 'gone'))).toThrow(expect.objectContaining({ code: 'ENOENT', path: join(dir, 'gone') }));
    expect(existsSync(join(dir, 'gone'))).toBe(false);
    // A path outside it is a mistake of the caller's, not a folder to make.
    expect(() => makeFolder(join(dir, 'other', 'a'), join(dir, 'gone'))).toThrow(/is not within/);
    expect(() => makeFolder(join(dir, 'gone2', 'a'), join(dir, 'gone'))).toThrow(/is not within/);
    expect(existsSync(join(dir, 'other')) || existsSync(join(dir, 'gone2'))).toBe(false);
  });
});
