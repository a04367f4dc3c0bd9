#!/usr/bin/env node
// npm run bench: training throughput of one worker, through the real CLI, on the embedded digits.
// Prints images/s (median over the epochs after the first, which includes warm-up) for the
// reference recipe and for max pooling + batchnorm + dropout. When python3 with torch is
// installed and ../shared/reference/reference_pytorch.py exists, it also runs the PyTorch
// reference recipe on the same IDX files with one thread, in the same run, and prints the ratio.
// The machine may be shared and noisy: the measurements alternate, ROUNDS times (default 2),
// and each reports its best round, the one least disturbed by other load.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lenet-sweep-bench-'));
const cache = process.env.LENET_SWEEP_CACHE ?? join(work, 'cache');
const backend = process.env.BENCH_BACKEND ?? 'wasm';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function ours(file) {
  const db = join(work, `${file.replace(/\W/g, '_')}.db`);
  execFileSync(process.execPath, [join(root, 'dist/cli/main.js'), join(root, file), '--db', db, '--workers', '1', '--backend', backend], {
    env: { ...process.env, LENET_SWEEP_CACHE: cache },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const conn = new Database(db, { readonly: true });
  const rates = conn.prepare('SELECT images_per_s FROM epochs ORDER BY epoch').all().map((r) => r.images_per_s);
  conn.close();
  return median(rates.slice(1));
}

function pytorch(idxDir) {
  const script = join(root, '..', 'shared', 'reference', 'reference_pytorch.py');
  if (!existsSync(script)) return { skipped: `${script} not found` };
  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
  if (!python) return { skipped: 'python3 with torch not installed (apt-get install python3-torch)' };
  const out = execFileSync(python, [script, idxDir, '3', '1'], { encoding: 'utf8' });
  const rates = [...out.matchAll(/train (\d+) img\/s/g)].map((m) => Number(m[1]));
  return { rate: median(rates.slice(1)) };
}

const rounds = Number(process.env.ROUNDS ?? 2);
console.log(`lenet-sweep bench: backend ${backend}, one worker, embedded MNIST (7,996 training images), batch 64, 3 epochs, best of ${rounds} rounds`);
let reference = 0;
let variant = 0;
let torch = { rate: 0 };
for (let round = 1; round <= rounds; round++) {
  reference = Math.max(reference, ours('bench/reference.yaml'));
  const t = pytorch(join(cache, 'mnist-embedded'));
  torch = t.skipped ? t : { rate: Math.max(torch.rate ?? 0, t.rate) };
  variant = Math.max(variant, ours('bench/variant.yaml'));
}
console.log(`  reference recipe (avg pooling):        ${Math.round(reference)} images/s`);
console.log(`  max pooling + batchnorm + dropout 0.5: ${Math.round(variant)} images/s`);
if (torch.skipped) {
  console.log(`  PyTorch reference: skipped (${torch.skipped})`);
} else {
  console.log(`  PyTorch reference recipe, 1 thread:    ${torch.rate} images/s`);
  console.log(`  ratio ours/PyTorch: reference ${(reference / torch.rate).toFixed(2)}, variant ${(variant / torch.rate).toFixed(2)}`);
}
