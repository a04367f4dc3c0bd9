/**
 * Asking the database about past runs through the real CLI: runs list (--where, --sort,
 * --status, --limit, table/JSON/CSV), show, best, compare, sql on the documented views, sweeps
 * list; the mistakes; and that no read command ever changes the database.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { migrate, SCHEMA_VERSION } from '../src/store/schema.js';
import { cli } from './cli-helpers.js';
import { tempDir } from './helpers.js';
import { writeRuns } from './runs-fixture.js';

/** avg and max pooling, three seeds each; max is better by about a point, with little seed noise. */
const YAML = `name: pool3
sweep:
  repeats: 3
  parameters:
    model.pooling: [avg, max]
`;

let db: string;
let ids: Record<string, string>; // 'max/3' → trial id

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

beforeAll(() => {
  const runs = writeRuns(YAML, (t) => {
    const bonus = t.config.model.pooling === 'max' ? 0.011 : 0;
    const seed = t.config.training.seed;
    return { status: 'completed', valAcc: [0.9 + bonus, 0.95 + bonus, 0.97 + bonus + 0.001 * seed], testAcc: 0.965 + bonus + 0.002 * seed };
  });
  db = runs.db;
  ids = Object.fromEntries(runs.trials.map((t) => [`${t.config.model.pooling}/${t.config.training.seed}`, t.id]));
});

const json = async (...args: string[]) => {
  const r = await cli(...args, '--db', db, '--json');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};

describe('sweep runs list', () => {
  it('ranks by the metric, best first, with the swept values as columns', async () => {
    const rows = await json('runs', 'list');
    expect(rows.map((r: { id: string }) => r.id)).toEqual([ids['max/3'], ids['max/2'], ids['max/1'], ids['avg/3'], ids['avg/2'], ids['avg/1']]);
    expect(rows.map((r: { rank: number }) => r.rank)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rows[0]).toMatchObject({ sweep: 'pool3', status: 'completed', metric: 'val_acc', best_epoch: 3, epochs: 3, params: { 'model.pooling': 'max', 'training.seed': 3 } });
    expect(rows[0].best_value).toBeCloseTo(0.984, 10);
    const table = await cli('runs', 'list', '--db', db);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^#\s+trial\s+model\.pooling\s+training\.seed\s+best val_acc\s+test_acc/);
    expect(lines[1]).toMatch(new RegExp(`^1\\s+${ids['max/3']}\\s+max\\s+3\\s+98\\.40%\\s+98\\.20%\\s+3/10\\s+2050\\s+wasm\\s+completed$`));
  });

  it('filters with --where on config paths and metrics, --status, and sorts and limits', async () => {
    const where = await json('runs', 'list', '--where', "model.pooling = 'max' and val_acc > 0.9825");
    expect(where.map((r: { id: string }) => r.id)).toEqual([ids['max/3'], ids['max/2']]);
    const or = await json('runs', 'list', '--where', 'training.seed = 1 or (optimizer.lr < 1e-2 and test_acc >= 0.9785)');
    expect(new Set(or.map((r: { id: string }) => r.id))).toEqual(new Set([ids['avg/1'], ids['max/1'], ids['max/2'], ids['max/3']]));
    const sorted = await json('runs', 'list', '--sort', 'training.seed', '--limit', '2');
    expect(sorted.map((r: { params: { 'training.seed': number } }) => r.params['training.seed'])).toEqual([1, 1]);
    const byTest = await json('runs', 'list', '--sort', 'test_acc:asc', '--limit', '1');
    expect(byTest[0].id).toBe(ids['avg/1']);
    expect(await json('runs', 'list', '--status', 'failed,running')).toEqual([]);
    const none = await cli('runs', 'list', '--db', db, '--where', "model.pooling = 'lp'");
    expect(none.stdout).toBe('no trials\n');
  });

  it('writes CSV with one column per field and swept parameter', async () => {
    const r = await cli('runs', 'list', '--db', db, '--csv', '--limit', '1');
    const [header, row, extra] = r.stdout.trimEnd().split('\n');
    expect(extra).toBeUndefined();
    const cols = header.split(',');
    expect(cols.slice(0, 6)).toEqual(['rank', 'id', 'sweep', 'status', 'model.pooling', 'training.seed']);
    const cells = row.split(',');
    expect(cells[cols.indexOf('id')]).toBe(ids['max/3']);
    expect(Number(cells[cols.indexOf('best_value')])).toBeCloseTo(0.984, 10);
    expect(cells[cols.indexOf('error')]).toBe('');
  });
});

describe('show, best, compare, sql, sweeps list', () => {
  it('shows one trial by an id prefix: config, epoch table and curves', async () => {
    const r = await cli('runs', 'show', ids['max/2'].slice(0, 6), '--db', db);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`trial ${ids['max/2']} of sweep pool3: completed`);
    expect(r.stdout).toMatch(/best {4}val_acc 98\.30% at epoch 3 {2}test_acc 98\.00% {2}epochs 3\/10/);
    expect(r.stdout).toMatch(/^config\n {2}name: pool3\n/m);
    expect(r.stdout).toMatch(/^ {2}epoch +train_loss +train_acc +val_loss +val_acc +lr +seconds +img\/s$/m);
    expect(r.stdout).toMatch(/^ +3 +0\.5000 +97\.30% +0\.0170 +98\.30% +0\.001 +2\.0 +20\d0$/m);
    expect(r.stdout).toContain('● train_loss  ○ val_loss');
    const detail = await json('runs', 'show', ids['max/2']);
    expect(detail.config.model.pooling).toBe('max');
    expect(detail.config.sweep.repeats).toBe(3); // --json keeps everything stored
    // `epochs` is the count, as in runs list --json; the epoch rows are `history`.
    expect(detail.epochs).toBe(3);
    expect(detail.history.map((e: { val_acc: number }) => e.val_acc)).toEqual([0.911, 0.961, 0.983]);
  });

  it('finds a trial by an id prefix in upper case too', async () => {
    const r = await cli('runs', 'show', ids['max/2'].slice(0, 6).toUpperCase(), '--db', db);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`trial ${ids['max/2']} of sweep pool3: completed`);
    const compared = await cli('runs', 'compare', ids['max/2'].toUpperCase(), ids['avg/2'].slice(0, 8).toUpperCase(), '--db', db, '--json');
    expect(compared.code).toBe(0);
    expect(compared.stdout).toContain(ids['avg/2']);
  });

  it("show's config is the trial's own: without the sweep block, a file of it alone is the same trial", async () => {
    const r = await cli('runs', 'show', ids['max/2'], '--db', db);
    const config = r.stdout.slice(r.stdout.indexOf('config\n') + 7, r.stdout.indexOf('\n\nepochs')).replace(/^ {2}/gm, '');
    expect(config).toMatch(/^ {2}pooling: max$/m);
    expect(config).not.toMatch(/^sweep:/m);
    const file = join(tempDir(), 'one.yaml');
    writeFileSync(file, config);
    const plan = await cli('plan', file, '--db', join(tempDir(), 'none.db'));
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(new RegExp(`^1 +${ids['max/2']} `, 'm'));
  });

  it('best: the leader of each sweep', async () => {
    const best = await json('runs', 'best');
    expect(best.map((r: { id: string }) => r.id)).toEqual([ids['max/3']]);
  });

  it('best means the best completed trial everywhere: runs best, sweeps list, export best and the report agree; with none, each says why', async () => {
    // A diverged trial that reached the highest value before it blew up, then completed ones.
    const yaml = 'name: blowups\nsweep:\n  parameters:\n    optimizer.lr: [10, 0.001, 0.003]\n';
    const mixed = writeRuns(yaml, (_, i) => (i === 0 ? { status: 'diverged', valAcc: [0.99] } : { status: 'completed', valAcc: [0.9 + i / 100], testAcc: 0.9 }));
    const leader = mixed.trials[2].id;
    expect(JSON.parse((await cli('runs', 'best', '--db', mixed.db, '--json')).stdout).map((t: { id: string }) => t.id)).toEqual([leader]);
    expect(JSON.parse((await cli('sweeps', 'list', '--db', mixed.db, '--json')).stdout)[0].best_trial).toBe(leader);
    // The leaderboard still ranks the diverged trial by the value it reached.
    expect(JSON.parse((await cli('runs', 'list', '--db', mixed.db, '--json')).stdout)[0]).toMatchObject({ id: mixed.trials[0].id, rank: 1, status: 'diverged' });
    const out = join(tempDir(), 'report.html');
    expect((await cli('report', '--db', mixed.db, '--out', out)).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain(`trial ${leader}: best val_acc`);

    const blown = writeRuns(yaml.replace('blowups', 'blown'), () => ({ status: 'diverged', valAcc: [0.5] }));
    const why = "sweep 'blown' has no completed trial (3 diverged)";
    const best = await cli('runs', 'best', '--db', blown.db);
    expect([best.code, best.stdout, best.stderr]).toEqual([2, '', `sweep runs best: ${why}\n`]);
    const exported = await cli('export', 'best', '--db', blown.db, '--format', 'onnx', '--out', join(tempDir(), 'm.onnx'));
    expect([exported.code, exported.stderr]).toEqual([2, `best: ${why}\n`]);
    expect(JSON.parse((await cli('sweeps', 'list', '--db', blown.db, '--json')).stdout)[0]).toMatchObject({ best_trial: null, best_value: null });
    const report = join(tempDir(), 'blown.html');
    expect((await cli('report', '--db', blown.db, '--out', report)).code).toBe(0);
    const html = readFileSync(report, 'utf8');
    expect(html).toMatch(/No best trial: sweep (&#39;|&#x27;|')blown(&#39;|&#x27;|') has no completed trial \(3 diverged\)\./);
    expect(html).not.toContain("<dt>leader</dt>");
    // Said once, in the notes: not again as a confusion matrix missing from an older version's trials.
    expect(html).not.toContain('No completed trial has a test confusion matrix');
    // Several sweeps: each without a best is said, the others answered.
    writeRuns(yaml.replace('blowups', 'fine'), () => ({ status: 'completed', valAcc: [0.8], testAcc: 0.8 }), { db: blown.db });
    const both = await cli('runs', 'best', '--db', blown.db, '--json');
    expect([both.code, both.stderr, JSON.parse(both.stdout).map((t: { sweep: string }) => t.sweep)]).toEqual([0, `note: ${why}\n`, ['fine']]);
  });

  it('compare: the config values that differ and the metrics side by side', async () => {
    const r = await cli('runs', 'compare', ids['avg/1'], ids['max/3'], '--db', db);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^field\\s+${ids['avg/1']}\\s+${ids['max/3']}$`));
    expect(lines.find((l) => l.startsWith('model.pooling'))).toMatch(/avg\s+max$/);
    expect(lines.find((l) => l.startsWith('training.seed'))).toMatch(/1\s+3$/);
    expect(lines.find((l) => l.startsWith('best val_acc'))).toMatch(/97\.10%\s+98\.40%$/);
    expect(lines.some((l) => l.startsWith('optimizer.lr'))).toBe(false);
    const same = await cli('runs', 'compare', ids['avg/1'], ids['avg/1'], '--db', db);
    expect(same.stdout).toContain('(the configs are identical)');
  });

  it('sql on the documented views, as a table, JSON or CSV', async () => {
    const r = await cli('runs', 'sql', "SELECT json_extract(config, '$.model.pooling') AS pooling, count(*) AS n, round(avg(best_value), 4) AS mean FROM trials GROUP BY pooling ORDER BY mean DESC", '--db', db);
    expect(r.stdout).toBe('pooling  n   mean\nmax      3  0.983\navg      3  0.972\n');
    const rows = await json('runs', 'sql', 'SELECT rank, id FROM leaderboard WHERE rank <= 2 ORDER BY rank');
    expect(rows).toEqual([{ rank: 1, id: ids['max/3'] }, { rank: 2, id: ids['max/2'] }]);
    const epochs = await cli('runs', 'sql', `SELECT epoch, val_acc FROM epochs WHERE trial_id = '${ids['avg/2']}' ORDER BY epoch`, '--db', db, '--csv');
    expect(epochs.stdout).toBe('epoch,val_acc\n1,0.9\n2,0.95\n3,0.972\n');
  });

  it('sweeps list: each sweep with its counts and leader', async () => {
    const [s] = await json('sweeps', 'list');
    expect(s).toMatchObject({ name: 'pool3', status: 'completed', trials: 6, counts: { completed: 6 }, best_trial: ids['max/3'], metric: 'val_acc', workers: 2 });
    const table = await cli('sweeps', 'list', '--db', db);
    expect(table.stdout).toMatch(/^sweep\s+status\s+completed\s+pruned\s+trials\s+metric\s+best\s+best trial/);
    expect(table.stdout).toMatch(new RegExp(`pool3\\s+completed\\s+6\\s+0\\s+6\\s+val_acc\\s+98\\.40%\\s+${ids['max/3']}`));
  });
});

describe('sweep dashboard without a terminal', () => {
  it('prints the leaderboard of the latest sweep, or of --sweep', async () => {
    const r = await cli('dashboard', '--db', db);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('lenet-sweep · pool3 · val_acc (higher is better) · completed');
    expect(r.stdout.split('\n')[2]).toMatch(new RegExp(`^1\\s+${ids['max/3']}\\s+max\\s+3\\s+98\\.40%`));
    expect((await cli('dashboard', '--db', db, '--sweep', 'pool3')).stdout).toBe(r.stdout);
  });
});

describe('bad input: one line, exit 2, the database unchanged', () => {
  it.each([
    [['runs', 'show', 'abcdef'], /^no trial with id 'abcdef'; sweep runs list shows the ids$/],
    [['runs', 'show', 'a'], /^no trial with id 'a' \(give at least 4 characters of the id\)/],
    [['runs', 'show'], /^sweep runs show: expected a trial id/],
    [['runs', 'compare', 'only1'], /^sweep runs compare: expected at least 2 trial ids/],
    [['runs', 'list', '--sweep', 'pool'], /^--sweep: no sweep named 'pool' \(did you mean 'pool3'\?\); sweeps: pool3$/],
    [['runs', 'best', '--sweep', 'nope'], /^--sweep: no sweep named 'nope'; sweeps: pool3$/],
    [['runs', 'list', '--where', "model.pooling = 'max' and"], /^--where: .*at column 26/],
    [['runs', 'list', '--where', 'model.pool = 1'], /^--where: unknown name 'model\.pool' at column 1 \(did you mean 'model\.pooling'\?\)/],
    [['runs', 'list', '--sort', 'tset_acc'], /^--sort: unknown key 'tset_acc' \(did you mean 'test_acc'\?\)/],
    [['runs', 'list', '--sort', 'test_acc:up'], /^--sort: expected KEY, KEY:asc or KEY:desc, found 'test_acc:up'$/],
    [['runs', 'list', '--status', 'done'], /^--status: unknown status 'done'/],
    [['runs', 'list', '--limit', '0'], /^--limit: expected a positive integer, found '0'$/],
    [['runs', 'list', '--limit', '-1'], /^--limit: a value that starts with '-' must be written --limit=-1$/],
    [['runs', 'list', '--limit=-1'], /^--limit: expected a positive integer, found '-1'$/],
    [['runs', 'list', '--sort'], /^--sort: missing its value \(found the option '--db' after it\); write --sort KEY\[:asc\|:desc\]$/],
    [['runs', 'list', '--sort', '--jsno'], /^--sort: missing its value \(found the option '--jsno' after it\); write --sort KEY\[:asc\|:desc\]$/],
    [['runs', 'list', '--json=yes'], /^--json: takes no value; write --json alone$/],
    [['runs', 'list', '--limt', '3'], /^sweep runs list: Unknown option '--limt' \(did you mean '--limit'\?\); see sweep runs list --help$/],
    [['runs', 'list', '--json', '--csv'], /^--json and --csv: choose one output format$/],
    [['runs', 'sql', 'DELETE FROM trial_records'], /^sweep runs sql: only statements that read are allowed/],
    [['runs', 'sql', "UPDATE sweeps SET name = 'x'"], /^sweep runs sql: only statements that read are allowed/],
    [['runs', 'sql', 'DROP VIEW leaderboard'], /^sweep runs sql: only statements that read are allowed/],
    [['runs', 'sql', 'SELEC 1'], /^sweep runs sql: near "SELEC": syntax error; the views are trials, epochs, leaderboard, checkpoints, attempts and confusion/],
    [['runs', 'sql', 'SELECT nope FROM trials'], /^sweep runs sql: no such column: nope/],
    [['runs', 'sql', 'SELECT 1; DELETE FROM sweeps'], /^sweep runs sql: .*one statement/],
    [['runs', 'frob'], /^sweep runs: unknown subcommand 'frob'; expected one of: list, show, best, compare, sql$/],
    [['sweeps', 'lst'], /^sweep sweeps: unknown subcommand 'lst'; expected: sweep sweeps list$/],
    [['dashboard', '--sweep', 'pool4'], /^--sweep: no sweep named 'pool4' \(did you mean 'pool3'\?\); sweeps: pool3$/],
    [['dashboard', 'experiments/pooling.yaml'], /^sweep dashboard: unexpected argument 'experiments\/pooling\.yaml'; to run an experiment use sweep experiments\/pooling\.yaml$/],
  ])('%j', async (args, message) => {
    const before = digest(db);
    const r = await cli(...args, '--db', db);
    expect(r.stderr.trimEnd()).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(digest(db)).toBe(before);
  });

  it('runs sql on a database it cannot open: one line, exit 2, as every read command (its query process printed a stack trace)', async () => {
    for (const [path, message] of [['/nonexistent/runs.db', '/nonexistent/runs.db: no such database; run a sweep first or pass --db PATH'], [tempDir(), 'is a directory, not a database file']]) {
      const r = await cli('runs', 'sql', 'SELECT 1', '--db', path);
      expect([r.code, r.stdout]).toEqual([2, '']);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(message);
    }
  });

  it('an ambiguous id prefix names the candidates', async () => {
    const path = join(tempDir(), 'copy.db');
    copyFileSync(db, path);
    const conn = new Database(path);
    const insert = conn.prepare(`INSERT INTO trial_records (id, sweep_id, params, config, status, epochs_planned, metric, goal) SELECT ?, sweep_id, params, config, 'queued', epochs_planned, metric, goal FROM trial_records LIMIT 1`);
    for (const id of ['abcd00000001', 'abcd00000002']) insert.run(id);
    conn.close();
    const r = await cli('runs', 'show', 'abcd', '--db', path);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("trial id 'abcd' is ambiguous: abcd00000001, abcd00000002; give more characters\n");
    expect((await cli('runs', 'show', 'abcd00000002', '--db', path)).stdout).toContain('trial abcd00000002 of sweep pool3: queued');
  });

  it('a database of an older version: read commands refuse it unchanged, sweep upgrade upgrades it', async () => {
    const path = join(tempDir(), 'v1.db');
    const old = new Database(path);
    migrate(old, path, 1);
    old.exec(`INSERT INTO sweeps (name, file, config, status, created_at, updated_at) VALUES ('old', 'old.yaml', '{"metric":{"name":"val_acc","goal":"maximize"}}', 'completed', '2026-01-01', '2026-01-01');
      INSERT INTO trials (id, sweep_id, params, config, status, best_epoch, best_value, test_acc) VALUES ('0123456789ab', 1, '{}', '{"training":{"epochs":1},"metric":{"name":"val_acc","goal":"maximize"}}', 'completed', 1, 0.97, 0.96);
      INSERT INTO epochs (trial_id, epoch, val_acc, images_per_s) VALUES ('0123456789ab', 1, 0.97, 1500);`);
    old.close();
    const before = digest(path);
    for (const args of [['runs', 'list'], ['sweeps', 'list'], ['dashboard']]) {
      const r = await cli(...args, '--db', path);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`${path}: written by an older lenet-sweep (database schema version 1, this one reads ${SCHEMA_VERSION}); upgrade it in place with: sweep upgrade --db ${path} (once no older sweep runs on it)\n`);
      expect(digest(path)).toBe(before);
    }
    expect((await cli('upgrade', '--db', path)).stdout).toBe(`${path}: upgraded from schema version 1 to ${SCHEMA_VERSION}\n`);
    expect((await cli('upgrade', '--db', path)).stdout).toBe(`${path}: already at schema version ${SCHEMA_VERSION}\n`);
    const [row] = JSON.parse((await cli('runs', 'list', '--db', path, '--json')).stdout);
    expect(row).toMatchObject({ id: '0123456789ab', sweep: 'old', best_value: 0.97, test_acc: 0.96, epochs: 1, images_per_s: 1500, rank: 1, backend: null, adapter: null });
    const missing = await cli('upgrade', '--db', join(tempDir(), 'none.db'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/none\.db: no such database, so nothing to upgrade; pass the one to upgrade with --db PATH\n$/);
  });

  it('sweep upgrade only upgrades a lenet-sweep database: an empty file, a missing one or a directory is refused as it is', async () => {
    const dir = tempDir();
    const empty = join(dir, 'empty.db');
    writeFileSync(empty, '');
    const r = await cli('upgrade', '--db', empty);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${empty}: not a lenet-sweep database (it is empty), so nothing to upgrade; a sweep run with --db PATH creates one\n`);
    expect(readFileSync(empty).length).toBe(0);
    const missing = join(dir, 'none.db');
    expect((await cli('upgrade', '--db', missing)).code).toBe(2);
    expect(existsSync(missing)).toBe(false);
    for (const args of [['upgrade'], ['runs', 'list'], ['sweeps', 'list'], ['dashboard']]) {
      const onDir = await cli(...args, '--db', dir);
      expect(onDir.code).toBe(2);
      expect(onDir.stderr).toBe(`${dir}: is a directory, not a database file; pass the database file with --db PATH (e.g. --db runs/runs.db)\n`);
    }
    expect(readdirSync(dir)).toEqual(['empty.db']);
  });

  it('an empty --db names no file', async () => {
    for (const args of [['upgrade'], ['runs', 'list'], ['runs', 'show', 'abcd'], ['sweeps', 'list'], ['dashboard'], ['plan', 'experiments/smoke.yaml']]) {
      const r = await cli(...args, '--db', '');
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe("--db: expected a path to the database file, found an empty string\n");
    }
  });
});

describe('table output', () => {
  it('lays out more rows than a function call takes arguments', async () => {
    const { table } = await import('../src/view/format.js');
    const rows = Array.from({ length: 200_000 }, (_, i) => [String(i)]);
    const text = table(['n'], rows, new Set([0]));
    expect(text.split('\n')).toHaveLength(200_001);
    expect(text.split('\n')[1]).toBe('     0');
  });
});
