#!/usr/bin/env node
// npm run bench:dashboard: what the live dashboard costs the training it shows.
//
// Runs the same sweep (the reference recipe, two seeds, on as many workers as the machine has
// cores) with --no-tui and with the dashboard in a real terminal (a private tmux server), in
// alternating rounds (ROUNDS, default 4), and compares training throughput: the mean images/s
// of the epochs after the first, as stored in the database. The machine may be noisy: the
// overhead is the median over rounds of 1 - (dashboard / plain) from back-to-back pairs.
// Then it measures the dashboard's own CPU time, which is steadier than throughput.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const env = { ...process.env, LENET_SWEEP_CACHE: cache };

/** Mean training images/s of the epochs after the first, and the sweep's wall time. */
function measured(db, seconds) {
  const conn = new Database(db, { readonly: true });
  const { rate } = conn.prepare('SELECT avg(images_per_s) AS rate FROM epochs WHERE epoch > 1').get();
  conn.close();
  return { rate, seconds };
}

function plain(db) {
  const start = performance.now();
  execFileSync(process.execPath, [cli, file, '--db', db, '--no-tui'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return measured(db, (performance.now() - start) / 1000);
}

function dashboard(db) {
  const socket = `lenet-sweep-bench-${process.pid}`;
  const tmux = (...args) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env: { ...env, TMUX: '' } });
  const status = join(work, 'exit-status');
  const start = performance.now();
  // The pane signals its end on a tmux channel: waiting on it costs nothing, where polling the
  // screen would spawn processes that compete with the training being measured.
  tmux('new-session', '-d', '-x', '120', '-y', '30', `${process.execPath} ${cli} ${file} --db ${db}; echo $? > ${status}; tmux -L ${socket} wait-for -S done; sleep 600`);
  try {
    tmux('wait-for', 'done');
    const seconds = (performance.now() - start) / 1000;
    const code = readFileSync(status, 'utf8').trim();
    if (code !== '0') throw new Error(`the sweep failed in the terminal (exit ${code}):\n${tmux('capture-pane', '-p')}`);
    return measured(db, seconds);
  } finally {
    tmux('kill-server');
  }
}

/**
 * The dashboard's own CPU time, measured precisely: `sweep dashboard` attached (in tmux) to a
 * sweep run with --no-tui in another process does the same reading and drawing as the
 * dashboard inside `sweep FILE`; its CPU seconds over the sweep's wall time, from /proc.
 */
function attachedCpu(db) {
  const socket = `lenet-sweep-bench-attach-${process.pid}`;
  const tmux = (...args) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env: { ...env, TMUX: '' } });
  const sweep = spawn(process.execPath, [cli, file, '--db', db, '--no-tui'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise((resolve) => sweep.on('close', resolve));
  return new Promise((resolve, reject) => {
    let out = '';
    sweep.stdout.on('data', async (d) => {
      out += d;
      if (out.includes('started on') && !out.startsWith('attached')) {
        out = `attached ${out}`;
        tmux('new-session', '-d', '-x', '120', '-y', '30', `exec ${process.execPath} ${cli} dashboard --db ${db}`);
        const pid = Number(tmux('display-message', '-p', '#{pane_pid}').trim());
        const ticks = () => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).map(Number).reduce((a, b) => a + b);
        // Let it start (loading Ink and React is a one-off), then measure while the sweep runs.
        await new Promise((r) => setTimeout(r, 2000));
        const [t0, c0] = [performance.now(), ticks()];
        await done;
        const [t1, c1] = [performance.now(), ticks()];
        tmux('kill-server');
        const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
        resolve((c1 - c0) / hz / ((t1 - t0) / 1000));
      }
    });
    sweep.on('error', reject);
  });
}

// Warm the dataset cache so that the first measured run does not pay for it.
plain(join(work, 'warm.db'));
const ratios = [];
for (let r = 1; r <= rounds; r++) {
  // Alternate which goes first, so that a trend in the machine's load favours neither.
  const order = r % 2 ? [plain, dashboard] : [dashboard, plain];
  const results = Object.fromEntries(order.map((run) => [run.name, run(join(work, `round${r}-${run.name}.db`))]));
  const ratio = results.dashboard.rate / results.plain.rate;
  ratios.push(ratio);
  console.log(
    `round ${r}: plain ${Math.round(results.plain.rate)} img/s (${results.plain.seconds.toFixed(1)} s), ` +
      `dashboard ${Math.round(results.dashboard.rate)} img/s (${results.dashboard.seconds.toFixed(1)} s), ratio ${ratio.toFixed(3)}`,
  );
}
const overhead = 1 - median(ratios);
console.log(`dashboard overhead on training throughput: ${(overhead * 100).toFixed(1)}% (median of ${rounds} rounds, each ±10% on a noisy machine; goal ≤ 3%)`);
const cpu = await attachedCpu(join(work, 'attached.db'));
const cores = availableParallelism();
console.log(
  `dashboard CPU while a sweep runs: ${(cpu * 100).toFixed(2)}% of one core, ` +
    `${((cpu / cores) * 100).toFixed(2)}% of the ${cores} cores the training uses (the bound on what it can take from training)`,
);
