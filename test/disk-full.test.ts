/**
 * A full disk under everything lenet-sweep writes, through the real CLI: each command run in a
 * mount namespace of its own (unshare, as root) with a small tmpfs where it writes, full or
 * filling. Each says it the same way (util/disk-full.ts): the path, that its disk is full, the
 * room left, what to do; exit 1 (a runtime failure, not a mistake in the command); and nothing
 * half-written left there.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CACHE, CLI, cli, ROOT, startCli } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';
import { startRedis, type RedisServer } from './redis-server.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` (sh) with a tmpfs of `size` mounted at `mount`, in a mount namespace that ends
 * with it. In the script, `cli NAME ARGS…` runs the CLI and keeps what it said in
 * "$said/NAME.out" (and .err, .code; OUT=FILE sends its output there instead), and `fill` fills
 * the tmpfs up. Returns each run and what is
 * left on the tmpfs (paths under it).
 */
function withTmpfs(mount: string, size: string, script: string, env: Record<string, string> = {}): { runs: Record<string, Run>; left: string[] } {
  const said = tempDir();
  const prelude = [
    `said='${said}'`,
    `mount -t tmpfs -o size=${size} tmpfs '${mount}' || exit 99`,
    // $OUT, where set, takes the command's output instead (a file on the tmpfs).
    `cli() { name=$1; shift; '${process.execPath}' '${CLI}' "$@" >"\${OUT:-$said/$name.out}" 2>"$said/$name.err"; echo $? >"$said/$name.code"; }`,
    `fill() { head -c 1G /dev/zero > '${mount}/fill' 2>/dev/null; true; }`,
  ].join('\n');
  const listing = `cd '${mount}' && find . -mindepth 1 | sort`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${prelude}\n${script}\n${listing}`], {
    cwd: ROOT,
    env: { ...process.env, LENET_SWEEP_CACHE: CACHE, NO_COLOR: '1', ...env },
    encoding: 'utf8',
    timeout: 100_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const runs: Record<string, Run> = {};
  for (const [, name] of script.matchAll(/\bcli (\S+)/g)) {
    const read = (ext: string) => (existsSync(join(said, `${name}.${ext}`)) ? readFileSync(join(said, `${name}.${ext}`), 'utf8') : '');
    runs[name] = { code: Number(read('code')), stdout: read('out'), stderr: read('err') };
  }
  return { runs, left: r.stdout.split('\n').filter(Boolean).map((p) => p.slice(2)) };
}

/** A regular expression's source for `text`, with (FIGURES) matching any room left (and needed) in MB. */
const pattern = (text: string) =>
  text
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replaceAll('\\(FIGURES\\)', '\\([\\d.,]+ MB free(, [\\d.,]+ MB needed)?\\)');

/** The one line a runtime failure prints. */
const errorLine = (text: string) => new RegExp(`^error: ${pattern(text)}\n$`);

const TINY = ['--no-tui', '--set', 'training.limit_train=64'];
/** A sweep with trained trials (and their checkpoints), for the commands that write from one; the id of one. */
let db: string;
let trial: string;

beforeAll(async () => {
  db = join(tempDir(), 'runs.db');
  const r = await cli('experiments/smoke.yaml', '--db', db, ...TINY);
  expect(r.code, r.stderr).toBe(0);
  trial = JSON.parse((await cli('runs', 'best', '--db', db, '--json')).stdout)[0].id;
});

describe('a full disk', () => {
  it('under the checkpoints mid-sweep: the trial is interrupted and the sweep stops, exit 1, saying where and what to do; the same command resumes once there is room', () => {
    // Room for the database and one checkpoint (0.74 MB): the trial's second epoch finds the disk full.
    const mount = tempDir();
    const file = writeExperiment('name: filling\ntraining: { epochs: 2, batch_size: 64, seed: 1, limit_train: 256 }\nsweep: { parameters: { model.pooling: [avg, max] } }\n');
    const sweep = `'${file}' --db '${mount}/runs.db' --no-tui --workers 1`;
    const { runs, left } = withTmpfs(mount, '1200k', `cli full ${sweep}; cli show runs list --db '${mount}/runs.db'; mount -o remount,size=8m '${mount}'; cli again ${sweep}`);
    const words = `${mount}/runs.db.checkpoints: the disk holding the checkpoints folder is full (FIGURES); the sweep stopped; free some space there, then run the same command again to resume`;
    expect(runs.full.code).toBe(1);
    expect(runs.full.stderr).toMatch(errorLine(words));
    // The trial says the same, and is interrupted (not failed); the second is still queued.
    expect(runs.full.stdout).toMatch(new RegExp(`\\] epoch 1/2 .*\\n\\[1/2 \\w+ model\\.pooling=avg\\] interrupted: ${pattern(words)}\\n`));
    expect(runs.full.stdout).not.toMatch(/ENOSPC|failed/);
    expect(runs.show.stdout).toMatch(/avg .* interrupted\n.*max .* queued\n$/);
    expect(runs.again.code).toBe(0);
    expect(runs.again.stdout).toMatch(/\[1\/2 \w+ model.pooling=avg\] resumed after epoch 1 \(its checkpoint\)/);
    expect(runs.again.stdout).toMatch(/max .* 2\/2 .* completed\n/);
    expect(left.filter((p) => /\.tmp$/.test(p))).toEqual([]);
  });

  it('under the database mid-sweep: the sweep stops, exit 1, saying where and what to do; the same command resumes once there is room', () => {
    // The disk fills while the trial trains its epoch: the next write of its progress finds it full.
    const mount = tempDir();
    const file = writeExperiment('name: filling\ntraining: { epochs: 1, batch_size: 64, seed: 1, limit_train: 3000 }\n');
    const sweep = `'${file}' --db '${mount}/runs.db' --no-tui`;
    const { runs } = withTmpfs(mount, '8m', `cli full ${sweep} & until grep -qs started "$said/full.out"; do sleep 0.05; done; fill; wait; rm '${mount}/fill'; cli again ${sweep}`);
    expect(runs.full.code).toBe(1);
    expect(runs.full.stderr).toMatch(errorLine(`${mount}/runs.db: the disk holding the database is full (FIGURES); the sweep stopped; free some space there, then run the same command again to resume`));
    expect(runs.again.code).toBe(0);
    expect(runs.again.stdout).toMatch(/ completed: best val_acc/);
  });

  it('under sweep export --out: one line, exit 1, and nothing of the export left (not a model without its card)', () => {
    const mount = tempDir();
    const out = (name: string) => `--db '${db}' --out '${mount}/${name}'`;
    const full = withTmpfs(mount, '64k', `fill; cli onnx export best --format onnx ${out('model.onnx')}; cli tfjs export best --format tfjs ${out('model')}`);
    expect(full.runs.onnx).toMatchObject({ code: 1, stdout: '' });
    expect(full.runs.onnx.stderr).toMatch(errorLine(`${mount}/model.onnx: the disk is full (FIGURES); nothing was written; free some space there, or give another --out`));
    expect(full.runs.tfjs.code).toBe(1);
    expect(full.runs.tfjs.stderr).toMatch(errorLine(`${mount}/model: the disk is full (FIGURES); nothing was written; free some space there, or give another --out`));
    expect(full.left).toEqual(['fill']);
    // Room for the model, not for its card: neither is left.
    const elsewhere = join(tempDir(), 'model.onnx');
    expect(spawnSync(process.execPath, [CLI, 'export', 'best', '--db', db, '--format', 'onnx', '--out', elsewhere], { cwd: ROOT, env: { ...process.env, LENET_SWEEP_CACHE: CACHE } }).status).toBe(0);
    const pages = Math.ceil(statSync(elsewhere).size / 4096);
    const half = withTmpfs(mount, String(pages * 4096), `cli onnx export best --format onnx ${out('model.onnx')}`);
    expect(half.runs.onnx.code).toBe(1);
    expect(half.runs.onnx.stderr).toMatch(errorLine(`${mount}/model.onnx: the disk is full (FIGURES); nothing was written; free some space there, or give another --out`));
    expect(half.left).toEqual([]);
  });

  it('under sweep report --out and --png: one line, exit 1, and no file or folder of the report left', () => {
    const mount = tempDir();
    const { runs, left } = withTmpfs(mount, '64k', `fill; cli html report --db '${db}' --out '${mount}/report.html'; cli png report --db '${db}' --png '${mount}/charts'`);
    expect(runs.html).toMatchObject({ code: 1, stdout: '' });
    expect(runs.html.stderr).toMatch(errorLine(`${mount}/report.html: the disk is full (FIGURES); nothing was written; free some space there, or give another --out`));
    expect(runs.png).toMatchObject({ code: 1, stdout: '' });
    expect(runs.png.stderr).toMatch(errorLine(`${mount}/charts: the disk is full (FIGURES); nothing was written; free some space there, or give another --png`));
    expect(left).toEqual(['fill']);
  });

  it('under sweep runs show --plot: one line, exit 1, no image left', () => {
    const mount = tempDir();
    const { runs, left } = withTmpfs(mount, '64k', `fill; cli plot runs show ${trial} --db '${db}' --plot '${mount}/curves.png'`);
    expect(runs.plot.code).toBe(1);
    expect(runs.plot.stderr).toMatch(errorLine(`${mount}/curves.png: the disk is full (FIGURES); nothing was written; free some space there, or give another --plot`));
    expect(left).toEqual(['fill']);
  });

  it('under sweep augment-preview --out: a runtime failure (exit 1, not 2) in the same words', () => {
    const mount = tempDir();
    const { runs, left } = withTmpfs(mount, '64k', `fill; cli preview augment-preview experiments/augmentation.yaml --out '${mount}/grid.png'`);
    expect(runs.preview).toMatchObject({ code: 1, stdout: '' });
    expect(runs.preview.stderr).toMatch(errorLine(`${mount}/grid.png: the disk is full (FIGURES); nothing was written; free some space there, or give another --out`));
    expect(left).toEqual(['fill']);
  });

  it('under the dataset cache (LENET_SWEEP_CACHE): names the variable, exit 1, and no half-made cache folder left', () => {
    const mount = tempDir();
    const cache = join(mount, 'cache');
    const { runs, left } = withTmpfs(mount, '64k', `fill; cli sweep experiments/smoke.yaml --db '${tempDir()}/runs.db' ${TINY.join(' ')}`, { LENET_SWEEP_CACHE: cache });
    expect(runs.sweep).toMatchObject({ code: 1, stdout: '' });
    expect(runs.sweep.stderr).toMatch(errorLine(`${cache}/mnist-embedded: the disk holding the dataset cache (LENET_SWEEP_CACHE=${cache}) is full (FIGURES); free some space there, or set LENET_SWEEP_CACHE to a folder on another disk`));
    expect(left).toEqual(['fill']);
  });

  it('under a file the output is sent to (runs sql --csv > FILE, a sweep > FILE): one line, exit 1, no stack trace; the sweep stops cleanly', () => {
    const mount = tempDir();
    const query = 'WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 100000) SELECT x FROM n';
    const sweepDb = join(tempDir(), 'runs.db');
    const { runs } = withTmpfs(mount, '64k', `fill; OUT='${mount}/out.csv' cli csv runs sql '${query}' --db '${db}' --csv; OUT='${mount}/log' cli sweep experiments/smoke.yaml --db '${sweepDb}' ${TINY.join(' ')}`);
    expect(runs.csv.code).toBe(1);
    expect(runs.csv.stderr).toMatch(errorLine(`${mount}/out.csv: the disk is full (FIGURES); the output there is cut short; free some space there, or send the output elsewhere`));
    expect(runs.sweep.code).toBe(1);
    expect(runs.sweep.stderr).toMatch(errorLine(`${mount}/log: the disk is full (FIGURES); the output there is cut short; free some space there, or send the output elsewhere`));
    // Stopped as with Ctrl-C: nothing left running.
    expect(spawnSync(process.execPath, [CLI, 'sweeps', 'list', '--db', sweepDb], { cwd: ROOT, encoding: 'utf8' }).stdout).toMatch(/\nsmoke +interrupted /);
  });
});

describe('a full disk across machines (sweep --queue, sweep agent)', () => {
  let redis: RedisServer;
  const agents: ChildProcess[] = [];
  /** An agent on this machine (a shell's `exec` in `wrap` for one in a namespace of its own); its output is not read. */
  const startAgent = (name: string, wrap: string[] = [], env: Record<string, string> = {}) => {
    const command = [process.execPath, CLI, 'agent', '--queue', redis.url, '--name', name, '--workers', '1'];
    const child = spawn(wrap.length ? wrap[0] : command[0], wrap.length ? [...wrap.slice(1), ...command] : command.slice(1), {
      cwd: ROOT,
      env: { ...process.env, LENET_SWEEP_CACHE: CACHE, NO_COLOR: '1', ...env },
      stdio: 'ignore',
    });
    agents.push(child);
  };
  const QUEUED = 'training: { epochs: 2, batch_size: 64, seed: 1, limit_train: 256 }\n';

  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);

  afterEach(() => {
    for (const a of agents.splice(0)) a.kill('SIGKILL');
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it("the coordinator's checkpoints: the sweep stops as on one machine, and the same command resumes once there is room", () => {
    startAgent('roomy');
    const mount = tempDir();
    const file = writeExperiment(`name: coordinated\n${QUEUED}`);
    const sweep = `'${file}' --db '${mount}/runs.db' --no-tui --queue '${redis.url}'`;
    const { runs } = withTmpfs(mount, '1200k', `cli full ${sweep}; mount -o remount,size=8m '${mount}'; cli again ${sweep}`);
    const words = `${mount}/runs.db.checkpoints: the disk holding the checkpoints folder is full (FIGURES); the sweep stopped; free some space there, then run the same command again to resume`;
    expect(runs.full.code, runs.full.stdout).toBe(1);
    expect(runs.full.stderr).toMatch(errorLine(words));
    expect(runs.full.stdout).toMatch(new RegExp(`\\[1/1 \\w+\\] interrupted: ${pattern(words)}\\n`));
    expect(runs.again.code, runs.again.stdout + runs.again.stderr).toBe(0);
    // Given out anew from the checkpoint stored here: not the first attempt adopted without its second epoch.
    expect(runs.again.stdout).toMatch(/resumed after epoch 1 \(its checkpoint\)/);
    expect(runs.again.stdout).toMatch(/ 2\/2 .* completed\n/);
  });

  it("an agent's disk: its trial is handed back to be tried again, and fails saying which agent's disk and where", async () => {
    // The agent keeps its checkpoints in its TMPDIR: a full tmpfs of a namespace of its own.
    const mount = tempDir();
    startAgent('cramped', ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs '${mount}' && head -c 1G /dev/zero > '${mount}/fill' 2>/dev/null; exec "$@"`, 'sh'], { TMPDIR: mount });
    const file = writeExperiment(`name: cramped\n${QUEUED}`);
    const r = await startCli([file, '--db', join(tempDir(), 'runs.db'), '--no-tui', '--queue', redis.url]);
    const words = `on agent cramped: ${mount}/lenet-sweep-agent-\\w+: the disk holding the checkpoints folder is full \\(0 MB free, 0.8 MB needed\\); free some space there`;
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`note: trial \\w+: ${words}; starting it again from its last checkpoint \\(retry 1 of 1\\)\\n`));
    expect(r.stdout).toMatch(new RegExp(`\\[1/1 \\w+\\] failed: ${words}\\n`));
  });
});

