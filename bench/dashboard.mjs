#!/usr/bin/env node
// npm run bench:dashboard: what the live dashboard costs the training it shows.
//
// Runs the same sweep (the reference recipe, two seeds, on as many workers as the machine has
// cores) with --no-tui and with the dashboard in a real terminal (a private tmux server), in
// alternating rounds (ROUNDS, default 4). Two measures:
// - the main thread's CPU time (from /proc, sampled without spawning anything): the dashboard
//   runs there, next to the database writer, so the difference between the modes is what the
//   dashboard costs, precisely, whatever the machine's other load; while training runs (from
//   the first epoch) and over the whole sweep, loading Ink and React included;
// - training throughput (images/s of the epochs after the first, from the database), the
//   number users feel, but on a shared machine it moves ±10% between runs, more than the
//   effect: the median ratio over the rounds is printed for what it is worth.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lenet-sweep-bench-dashboard-'));
const cache = process.env.LENET_SWEEP_CACHE ?? join(work, 'cache');
const rounds = Number(process.env.ROUNDS ?? 4);
const cli = join(root, 'dist/cli/main.js');
const file = join(work, 'bench-dashboard.yaml');
writeFileSync(file, 'name: bench-dashboard\ntraining: { epochs: 4, batch_size: 64, limit_train: 6000 }\nsweep: { parameters: { training.seed: [1, 2] } }\n');
const env = { ...process.env, LENET_SWEEP_CACHE: cache };
const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** CPU seconds of a process's main thread (its thread id is its pid), and whether it has ended. */
function mainThreadCpu(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // A zombie (ended, not yet reaped) still shows its final times.
    return { cpu: (Number(fields[11]) + Number(fields[12])) / hz, ended: fields[0] === 'Z' };
  } catch {
    return { cpu: null, ended: true };
  }
}

/** The number of epochs recorded so far (0 before the database exists). */
function epochsIn(db) {
  if (!existsSync(db)) return 0;
  try {
    const conn = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return conn.prepare('SELECT count(*) AS n FROM epoch_records').get().n;
    } finally {
      conn.close();
    }
  } catch {
    return 0; // not created yet
  }
}

/**
 * Samples the main thread's CPU time until the process ends (the last sample is within 100 ms
 * of its end). `steady` counts from the first recorded epoch on: loading Ink and React at the
 * start is a one-off that a short benchmark would otherwise spread over its few seconds.
 */
async function followCpu(pid, db) {
  let last = 0;
  let first = null;
  for (;;) {
    const { cpu, ended } = mainThreadCpu(pid);
    if (cpu !== null) last = cpu;
    if (first === null && cpu !== null && epochsIn(db) > 0) first = { cpu, at: performance.now() };
    if (ended) return { cpu: last, steady: first ? { cpu: last - first.cpu, seconds: (performance.now() - first.at) / 1000 } : null };
    await sleep(100);
  }
}

function throughput(db) {
  const conn = new Database(db, { readonly: true });
  const { rate } = conn.prepare('SELECT avg(images_per_s) AS rate FROM epochs WHERE epoch > 1').get();
  conn.close();
  return rate;
}

async function plain(db) {
  const start = performance.now();
  const child = spawn(process.execPath, [cli, file, '--db', db, '--no-tui'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exit = new Promise((resolve) => child.on('close', resolve));
  const { cpu, steady } = await followCpu(child.pid, db);
  if ((await exit) !== 0) throw new Error('the plain sweep failed');
  return { rate: throughput(db), cpu, steady, seconds: (performance.now() - start) / 1000 };
}

async function dashboard(db) {
  const socket = `lenet-sweep-bench-${process.pid}`;
  const tmux = (...args) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env: { ...env, TMUX: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const status = join(work, 'exit-status');
  const start = performance.now();
  // `exec` (env execs node in turn): the pane's process is the sweep itself, so its pid is the
  // pane's. CI markers removed: under them the sweep would give plain lines, not the dashboard.
  tmux('new-session', '-d', '-x', '120', '-y', '30', `echo $$ > ${status}.pid; exec env -u CI -u CONTINUOUS_INTEGRATION ${process.execPath} ${cli} ${file} --db ${db}`);
  try {
    while (!existsSync(`${status}.pid`)) await sleep(20);
    const pid = Number(readFileSync(`${status}.pid`, 'utf8'));
    const { cpu, steady } = await followCpu(pid, db);
    const seconds = (performance.now() - start) / 1000;
    // The pane goes with its process: the database tells whether the sweep completed.
    const conn = new Database(db, { readonly: true });
    const { sweep } = conn.prepare(`SELECT status AS sweep FROM sweeps`).get();
    conn.close();
    if (sweep !== 'completed') throw new Error(`the sweep in the terminal ended ${sweep}`);
    return { rate: throughput(db), cpu, steady, seconds };
  } finally {
    try {
      tmux('kill-server');
    } catch {
      // The server ended with its last pane.
    }
    execFileSync('rm', ['-f', `${status}.pid`]);
  }
}

// Warm the dataset cache so that the first measured run does not pay for it.
await plain(join(work, 'warm.db'));
const ratios = [];
const extraCpu = [];
const extraSteady = [];
for (let r = 1; r <= rounds; r++) {
  // Alternate which goes first, so that a trend in the machine's load favours neither.
  const order = r % 2 ? [plain, dashboard] : [dashboard, plain];
  const results = {};
  for (const run of order) results[run.name] = await run(join(work, `round${r}-${run.name}.db`));
  const { plain: p, dashboard: d } = results;
  ratios.push(d.rate / p.rate);
  // The dashboard's extra main-thread CPU per second of the sweep, all of it and once training runs.
  extraCpu.push((d.cpu - p.cpu) / d.seconds);
  extraSteady.push(d.steady.cpu / d.steady.seconds - p.steady.cpu / p.steady.seconds);
  console.log(
    `round ${r}: plain ${Math.round(p.rate)} img/s, main thread ${p.cpu.toFixed(2)} s CPU in ${p.seconds.toFixed(1)} s; ` +
      `dashboard ${Math.round(d.rate)} img/s, main thread ${d.cpu.toFixed(2)} s CPU in ${d.seconds.toFixed(1)} s`,
  );
}
const cores = availableParallelism();
const pct = (x) => `${(x * 100).toFixed(2)}% of one core = ${((x / cores) * 100).toFixed(2)}% of the ${cores} cores training uses`;
console.log(`dashboard CPU while training (main thread, with minus without, from the first epoch on): ${pct(median(extraSteady))} (goal ≤ 3%)`);
console.log(`dashboard CPU over the whole (short) sweep, loading Ink and React included: ${pct(median(extraCpu))}`);
console.log(`training throughput with / without the dashboard: median ratio ${median(ratios).toFixed(3)} over ${rounds} rounds (noise ±10% a round)`);
