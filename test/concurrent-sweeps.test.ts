/**
 * One sweep, one run at a time: starting a sweep that a live process is running on the same
 * database is refused (two runs would train the same trials into one curve and clash on their
 * epochs), while a sweep whose process was killed is taken over by the next start.
 */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli, startCli } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';

const YAML = 'name: once\ntraining: { epochs: 3, limit_train: 1000 }\nsweep: { parameters: { model.pooling: [avg, max] } }\n';

function stored(db: string) {
  const conn = new Database(db, { readonly: true });
  const sweep = conn.prepare('SELECT status, run FROM sweeps').get() as { status: string; run: number };
  const trials = conn.prepare('SELECT status, epochs, (SELECT count(*) FROM epochs e WHERE e.trial_id = t.id) AS rows FROM trials t ORDER BY id').all();
  conn.close();
  return { sweep, trials };
}

describe('a sweep already running', () => {
  it('is not started again on the same database: one line, exit 2, and the first run is untouched', async () => {
    const db = join(tempDir(), 'runs.db');
    const file = writeExperiment(YAML);
    let second: Promise<Awaited<ReturnType<typeof cli>>> | undefined;
    // The first run is held (SIGSTOP) while the second starts: on a loaded machine the second
    // process took longer to start than the first took to finish, and then found nothing running.
    const first = await startCli([file, '--db', db, '--no-tui'], (out, child) => {
      if (!second && /epoch 1\/3/.test(out)) {
        child.kill('SIGSTOP');
        second = cli(file, '--db', db, '--no-tui').finally(() => child.kill('SIGCONT'));
      }
    });
    expect(second).toBeDefined();
    const refused = await second!;
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(new RegExp(`^${file}: sweep 'once' is already running in this database \\(pid \\d+ on [^,]+, since \\d{4}-.*\\); wait for it, stop it \\(q or Ctrl-C where it runs\\), or use another --db$`, 'm'));
    expect(first.code).toBe(0);
    expect(stored(db)).toEqual({
      sweep: { status: 'completed', run: 1 },
      trials: [
        { status: 'completed', epochs: 3, rows: 3 },
        { status: 'completed', epochs: 3, rows: 3 },
      ],
    });
  });

  it('whose process was killed is taken over by the next start, which trains what is left', async () => {
    const db = join(tempDir(), 'runs.db');
    const file = writeExperiment(YAML);
    let killed = false;
    const first = await startCli([file, '--db', db, '--no-tui'], (out, child) => {
      if (!killed && /epoch 1\/3/.test(out)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    expect(first.signal).toBe('SIGKILL');
    expect(stored(db).sweep.status).toBe('running');
    // A run with another setting trains other trials: the dead run's trials are settled anyway.
    const edited = await cli(file, '--db', db, '--no-tui', '--set', 'training.epochs=1');
    expect(edited.code).toBe(0);
    const statuses = (await cli('runs', 'list', '--db', db, '--json')).stdout;
    expect(JSON.parse(statuses).map((t: { status: string }) => t.status).sort()).toEqual(['completed', 'completed', 'interrupted', 'interrupted']);
    const again = await cli(file, '--db', db, '--no-tui');
    expect(again.code).toBe(0);
    const { sweep, trials } = stored(db);
    expect(sweep).toEqual({ status: 'completed', run: 3 });
    const rows = trials as { status: string; epochs: number; rows: number }[];
    expect(rows.map((t) => `${t.status} ${t.epochs}/${t.rows}`).sort()).toEqual(['completed 1/1', 'completed 1/1', 'completed 3/3', 'completed 3/3']);
  });

  it('whose pid now belongs to another process is taken over; one on another host too, with a note', async () => {
    const db = join(tempDir(), 'runs.db');
    const file = writeExperiment('name: stale\ntraining: { epochs: 1, limit_train: 500 }\n');
    expect((await cli(file, '--db', db, '--no-tui')).code).toBe(0);
    // A process alive now stands in for whatever took the dead run's pid.
    const other = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const mark = (host: string, updatedAt: string) => {
        const conn = new Database(db);
        conn.prepare(`UPDATE sweeps SET status = 'running', host = ?, pid = ?, updated_at = ?`).run(host, other.pid, updatedAt);
        conn.close();
      };
      // It started after the sweep's last write: not the run (whose writes all follow its start).
      mark(hostname(), new Date(Date.now() - 60_000).toISOString());
      const reused = await cli(file, '--db', db, '--no-tui');
      expect(reused.code).toBe(0);
      expect(reused.stdout).toMatch(/1 already completed/);
      // Started before the last write: it could be the run, so it is refused.
      mark(hostname(), new Date(Date.now() + 60_000).toISOString());
      const refused = await cli(file, '--db', db, '--no-tui');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/sweep 'stale' is already running in this database/);
      // Another host: this one cannot tell, takes over and says so.
      mark('elsewhere', new Date().toISOString());
      const elsewhere = await cli(file, '--db', db, '--no-tui');
      expect(elsewhere.code).toBe(0);
      expect(elsewhere.stdout).toMatch(/^note: sweep 'stale' was marked running on host elsewhere \(last written \d{4}-[^)]+\); this run takes it over\. If it still runs there, stop one of the two/m);
    } finally {
      other.kill();
    }
  });
});
