/**
 * The plain (non-terminal) tables of trials: `runs list` over several runs of one file shows
 * every setting that tells its rows apart, `sweep dashboard` without a terminal prints what the
 * live dashboard shows (the latest run, ranked among itself, under a line naming the sweep), and
 * picks a running sweep over one that finished later.
 */
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli } from './cli-helpers.js';
import { writeRuns } from './runs-fixture.js';

/** Two runs of one file: first sgd, then (edited) rmsprop with a dropout axis; the first run's trials score higher. */
function twoRuns() {
  const first = writeRuns('name: edits\noptimizer: { name: sgd }\nsweep: { parameters: { model.pooling: [avg, max] } }\n', (_t, i) => ({ status: 'completed', valAcc: [0.95 + i / 100], testAcc: 0.9 }));
  const second = writeRuns(
    'name: edits\noptimizer: { name: rmsprop }\nsweep: { parameters: { model.pooling: [avg, max], model.dropout: [0, 0.5] } }\n',
    (_t, i) => (i < 2 ? { status: 'completed', valAcc: [0.8 + i / 100], testAcc: 0.8 } : { status: 'queued' }),
    { db: first.db },
  );
  return { db: first.db, first, second };
}

describe('plain tables of trials', () => {
  it('runs list: rows of runs of an edited file differ in a column, not only in their ids', async () => {
    const { db } = twoRuns();
    const r = await cli('runs', 'list', '--db', db);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^# +trial +model\.pooling +model\.dropout +optimizer\.name +best val_acc /);
    expect(lines[1]).toMatch(/^1 +\w{12} +max +0 +sgd +96\.00% /);
    expect(lines.filter((l) => / rmsprop /.test(l))).toHaveLength(4);
    expect(lines.filter((l) => / sgd /.test(l))).toHaveLength(2);
  });

  it('runs list: trials that differ in the configured backend have one backend column, the one they ran on', async () => {
    const first = writeRuns('name: be\nsweep: { parameters: { model.pooling: [avg, max] } }\n', () => ({ status: 'completed', valAcc: [0.9], testAcc: 0.9 }));
    writeRuns('name: be\nbackend: wasm\nsweep: { parameters: { model.pooling: [avg, max] } }\n', () => ({ status: 'completed', valAcc: [0.9], testAcc: 0.9 }), { db: first.db });
    const header = (await cli('runs', 'list', '--db', first.db)).stdout.split('\n')[0];
    expect(header.match(/backend/g)).toHaveLength(1);
    expect(header).toMatch(/ img\/s +backend +status$/);
  });

  it('runs list: values drawn by a random search show 6 significant digits; --json keeps every digit', async () => {
    const runs = writeRuns(
      'name: rand\nsweep: { method: random, count: 3, parameters: { optimizer.lr: { distribution: log_uniform_values, min: 0.0001, max: 0.01 } } }\n',
      () => ({ status: 'completed', valAcc: [0.9], testAcc: 0.9 }),
    );
    const lrs = runs.trials.map((t) => t.config.optimizer.lr);
    const lines = (await cli('runs', 'list', '--db', runs.db)).stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^# +trial +optimizer\.lr +best val_acc/);
    const shown = lines.slice(1).map((l) => l.split(/ +/)[2]).sort();
    expect(shown).toEqual(lrs.map((lr) => String(Number(lr.toPrecision(6)))).sort());
    for (const s of shown) expect(s.replace(/^0\.0*/, '').replace('.', '').length).toBeLessThanOrEqual(6);
    // plan shows the same values as the tables.
    const plan = (await cli('plan', runs.file, '--db', runs.db)).stdout;
    for (const s of shown) expect(plan).toContain(` ${s} `);
    const json = JSON.parse((await cli('runs', 'list', '--db', runs.db, '--json')).stdout);
    expect(json.map((t: { params: { 'optimizer.lr': number } }) => t.params['optimizer.lr']).sort()).toEqual([...lrs].sort());
  });

  it('sweep dashboard without a terminal: a line naming the sweep, then its latest run ranked among itself', async () => {
    const { db, second } = twoRuns();
    const r = await cli('dashboard', '--db', db);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('lenet-sweep · edits · val_acc (higher is better) · completed');
    expect(lines[1]).toMatch(/^# +trial +model\.pooling +model\.dropout +best val_acc /);
    expect(lines.slice(2).map((l) => l.split(/ +/)[1] ?? '')).toHaveLength(second.trials.length);
    expect(lines[2]).toMatch(/^1 +\w{12} +avg +0\.5 +81\.00% /);
    expect(lines[3]).toMatch(/^2 +\w{12} +avg +0 +80\.00% /);
    expect(r.stdout).not.toContain('sgd');
  });

  it('sweep dashboard picks the sweep a live process runs over one updated later, but not a stale one', async () => {
    const running = writeRuns('name: live\n', () => ({ status: 'running', valAcc: [0.5] }), { sweepStatus: 'running' });
    writeRuns('name: done\n', () => ({ status: 'completed', valAcc: [0.9], testAcc: 0.9 }), { db: running.db });
    const mark = (host: string, pid: number) => {
      const conn = new Database(running.db);
      conn.prepare(`UPDATE sweeps SET host = ?, pid = ? WHERE name = 'live'`).run(host, pid);
      conn.close();
    };
    // This test's process stands in for the sweep's: alive, on this host, started before the sweep's writes.
    mark(hostname(), process.pid);
    expect((await cli('dashboard', '--db', running.db)).stdout).toMatch(/^lenet-sweep · live · val_acc \(higher is better\) · running\n/);
    expect((await cli('dashboard', '--db', running.db, '--sweep', 'done')).stdout).toMatch(/^lenet-sweep · done · /);
    // Marked running on another host: nothing says it still runs, so the latest update wins.
    mark('elsewhere', process.pid);
    expect((await cli('dashboard', '--db', running.db)).stdout).toMatch(/^lenet-sweep · done · /);
  });
});
