#!/usr/bin/env node
// npm run bench: training throughput of one worker, through the real CLI.
//
// Trains the reference recipe, and the max pooling + batchnorm + dropout variant, on a fixed
// number of Fashion-MNIST training images when Debian's dataset-fashion-mnist is installed (else
// on the embedded MNIST digits), and prints images/s: the median over the epochs after the first,
// which includes warm-up. When python3 with torch is installed and
// ../shared/reference/reference_pytorch.py exists, it also runs the PyTorch reference recipe on
// the same IDX files and image count with one thread, in the same run, and prints the ratios.
// The machine may be shared and noisy: the measurements alternate, ROUNDS times (default 2),
// and each reports its best round, the one least disturbed by other load.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lenet-sweep-bench-'));
const cache = process.env.LENET_SWEEP_CACHE ?? join(work, 'cache');
const backend = process.env.BENCH_BACKEND ?? 'wasm';
const rounds = Number(process.env.ROUNDS ?? 2);
const EPOCHS = 3;
const FASHION = '/usr/share/datasets/fashion-mnist';
const fashion = existsSync(FASHION);
const IMAGES = fashion ? 20000 : 7996;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The experiment file of one measured trial. */
function experiment(name, model) {
  const data = fashion ? `{ dataset: idx, dir: ${FASHION}, validation: 0.05 }` : '{ dataset: mnist }';
  const limit = fashion ? IMAGES : 0;
  const path = join(work, `${name}.yaml`);
  writeFileSync(path, `name: ${name}\ndata: ${data}\nmodel: ${model}\ntraining: { epochs: ${EPOCHS}, batch_size: 64, seed: 1, limit_train: ${limit} }\n`);
  return path;
}

const files = {
  reference: experiment('bench-reference', '{ pooling: avg }'),
  variant: experiment('bench-variant', '{ pooling: max, batchnorm: true, dropout: 0.5 }'),
};

function ours(file) {
  const db = join(work, 'bench.db');
  execFileSync(process.execPath, [join(root, 'dist/cli/main.js'), file, '--db', db, '--workers', '1', '--backend', backend, '--rerun'], {
    env: { ...process.env, LENET_SWEEP_CACHE: cache },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const conn = new Database(db, { readonly: true });
  const rates = conn
    .prepare('SELECT e.images_per_s FROM epochs e JOIN sweeps s ON s.name = e.sweep WHERE s.file = ? ORDER BY e.epoch')
    .all(file)
    .map((r) => r.images_per_s);
  conn.close();
  return median(rates.slice(1));
}

function pytorch() {
  const script = join(root, '..', 'shared', 'reference', 'reference_pytorch.py');
  if (!existsSync(script)) return { skipped: `${script} not found` };
  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
  if (!python) return { skipped: 'python3 with torch not installed (apt-get install python3-torch)' };
  const idx = fashion ? FASHION : join(cache, 'mnist-embedded');
  const out = execFileSync(python, [script, idx, String(EPOCHS), '1', String(IMAGES)], { encoding: 'utf8' });
  const rates = [...out.matchAll(/train (\d+) img\/s/g)].map((m) => Number(m[1]));
  return { rate: median(rates.slice(1)) };
}

const { nativeKernelsText } = await import(join(root, 'dist/backend/native-addon.js'));
console.log(
  `lenet-sweep bench: backend ${backend}${backend === 'wasm' ? ` (${nativeKernelsText()})` : ''}, one worker, ${IMAGES} ${fashion ? 'Fashion-MNIST' : 'embedded MNIST'} training images, ` +
    `batch 64, ${EPOCHS} epochs, best of ${rounds} rounds`,
);
let reference = 0;
let variant = 0;
let torch = { rate: 0 };
for (let round = 1; round <= rounds; round++) {
  reference = Math.max(reference, ours(files.reference));
  const t = pytorch();
  torch = t.skipped ? t : { rate: Math.max(torch.rate ?? 0, t.rate) };
  variant = Math.max(variant, ours(files.variant));
}
console.log(`  reference recipe (avg pooling):        ${Math.round(reference)} images/s`);
console.log(`  max pooling + batchnorm + dropout 0.5: ${Math.round(variant)} images/s`);
if (torch.skipped) {
  console.log(`  PyTorch reference: skipped (${torch.skipped})`);
} else {
  console.log(`  PyTorch reference recipe, 1 thread:    ${torch.rate} images/s`);
  console.log(`  ratio ours/PyTorch: reference ${(reference / torch.rate).toFixed(2)}, variant ${(variant / torch.rate).toFixed(2)}`);
}
