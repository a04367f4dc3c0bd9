#!/usr/bin/env node
// npm run bench:fuse, its second half: a sweep fused against the same sweep unfused and against
// the same trials in PyTorch, each as a person would run it, timed from start to end.
//
// 8 trials of the reference recipe (and of the max pooling + batchnorm + dropout variant),
// differing by seed and learning rate, one epoch each on IMAGES training images (20,000 of
// Debian's dataset-fashion-mnist where installed, else the embedded digits' 7,996), batch 64:
//   - ours: `sweep FILE --workers 2 --fuse K` for K in FUSE_KS (default 1,4) on BENCH_BACKEND (wasm),
//     and on wasm the last K again with wasm's own kernels (LENET_SWEEP_NATIVE=0) in place of the
//     compiled ones (src/backend/native-kernels.ts): what they add, in the same run (OWN=0 skips it);
//   - PyTorch: bench/torch_trials.py in two processes of one thread each, 4 trials each, side by
//     side (where /usr/bin/python3 has torch: apt-get install python3-torch).
// Total images/s = 8 × IMAGES / wall time (each run's start-up, data loading, validation and test
// evaluation included, as a person waits for them). Also the fused run's mean validation accuracy
// against the unfused run's (fusion changes no trial's numbers: they must be equal). Rounds
// alternate (ROUNDS, default 1) and each figure is its best round: the machine may be shared.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lenet-sweep-bench-fuse-'));
const cache = process.env.LENET_SWEEP_CACHE ?? join(work, 'cache');
const backend = process.env.BENCH_BACKEND ?? 'wasm';
const ROUNDS = Number(process.env.ROUNDS ?? 1);
const KS = (process.env.FUSE_KS ?? '1,4').split(',').map(Number);
const FASHION = '/usr/share/datasets/fashion-mnist';
const fashion = existsSync(FASHION);
const IMAGES = Number(process.env.IMAGES ?? (fashion ? 20000 : 7996));
const SEEDS = [1, 2, 3, 4];
const RATES = [0.001, 0.002];
const TRIALS = SEEDS.length * RATES.length;

const VARIANTS = {
  reference: '{ pooling: avg }',
  variant: '{ pooling: max, batchnorm: true, dropout: 0.5 }',
};

function experiment(name, model) {
  const data = fashion ? `{ dataset: idx, dir: ${FASHION}, validation: 0.05 }` : '{ dataset: mnist }';
  const path = join(work, `${name}.yaml`);
  writeFileSync(
    path,
    `name: ${name}\ndata: ${data}\nmodel: ${model}\ntraining: { epochs: 1, batch_size: 64, limit_train: ${fashion ? IMAGES : 0} }\n` +
      `sweep:\n  parameters:\n    training.seed: [${SEEDS.join(', ')}]\n    optimizer.lr: [${RATES.join(', ')}]\n`,
  );
  return path;
}

/** Our sweep: total images/s over its wall time, and its trials' mean validation accuracy. */
function ours(file, fuse, round, ownKernels = false) {
  const db = join(work, `ours-${fuse}-${round}-${Date.now()}.db`);
  const started = performance.now();
  execFileSync(process.execPath, [join(root, 'dist/cli/main.js'), file, '--db', db, '--workers', '2', '--fuse', String(fuse), '--backend', backend, '--no-tui'], {
    env: { ...process.env, LENET_SWEEP_CACHE: cache, ...(ownKernels ? { LENET_SWEEP_NATIVE: '0' } : {}) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const seconds = (performance.now() - started) / 1000;
  const conn = new Database(db, { readonly: true });
  const { acc } = conn.prepare('SELECT avg(val_acc) AS acc FROM epochs').get();
  conn.close();
  return { rate: (TRIALS * IMAGES) / seconds, acc };
}

const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
const idxDir = fashion ? FASHION : join(cache, 'mnist-embedded');

/** The same trials in PyTorch: two processes of one thread, side by side. */
async function pytorch(kind) {
  const trials = SEEDS.flatMap((s) => RATES.map((lr) => `${s}:${lr}`));
  const halves = [trials.slice(0, TRIALS / 2), trials.slice(TRIALS / 2)];
  const started = performance.now();
  await Promise.all(
    halves.map(
      (half) =>
        new Promise((resolve, reject) => {
          const child = spawn(python, [join(root, 'bench/torch_trials.py'), idxDir, String(IMAGES), kind, ...half], { stdio: ['ignore', 'ignore', 'inherit'] });
          child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`torch_trials.py exited with ${code}`))));
        }),
    ),
  );
  return (TRIALS * IMAGES) / ((performance.now() - started) / 1000);
}

// The cache prepared once (the embedded digits are converted on first use), outside the timings.
{
  const warm = join(work, 'warm.yaml');
  writeFileSync(warm, `name: warm\ndata: ${fashion ? `{ dataset: idx, dir: ${FASHION} }` : '{ dataset: mnist }'}\ntraining: { epochs: 1, limit_train: 64 }\n`);
  execFileSync(process.execPath, [join(root, 'dist/cli/main.js'), warm, '--db', join(work, 'warm.db'), '--no-tui'], { env: { ...process.env, LENET_SWEEP_CACHE: cache }, stdio: 'ignore' });
}

const { loadNativeAddon, nativeKernelsText } = await import(join(root, 'dist/backend/native-addon.js'));
const own = backend === 'wasm' && process.env.OWN !== '0' && loadNativeAddon().addon !== null;
console.log(`lenet-sweep bench, a fused sweep: ${TRIALS} trials (seeds × learning rates), 1 epoch on ${IMAGES.toLocaleString('en')} ${fashion ? 'Fashion-MNIST' : 'embedded MNIST'} images each, batch 64, ${backend} on 2 workers${backend === 'wasm' ? ` (${nativeKernelsText()})` : ''}; PyTorch in 2 one-thread processes; wall time, best of ${ROUNDS}`);
for (const [kind, model] of Object.entries(VARIANTS)) {
  const file = experiment(`bench-fuse-${kind}`, model);
  const best = new Map(KS.map((k) => [k, { rate: 0, acc: 0 }]));
  let torch = 0;
  let ownBest = { rate: 0, acc: 0 };
  const lastK = KS[KS.length - 1];
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of KS) {
      const got = ours(file, k, r);
      if (got.rate > best.get(k).rate) best.set(k, got);
    }
    if (own) {
      const got = ours(file, lastK, r, true);
      if (got.rate > ownBest.rate) ownBest = got;
    }
    if (python) torch = Math.max(torch, await pytorch(kind));
  }
  for (const k of KS) {
    const { rate, acc } = best.get(k);
    const vsTorch = python ? `, ${(rate / torch).toFixed(2)}x PyTorch` : '';
    const vsAlone = k !== KS[0] ? `, ${(rate / best.get(KS[0]).rate).toFixed(2)}x --fuse ${KS[0]}; mean val_acc ${(acc * 100).toFixed(2)}% vs ${(best.get(KS[0]).acc * 100).toFixed(2)}%` : `; mean val_acc ${(acc * 100).toFixed(2)}%`;
    console.log(`  ${kind.padEnd(9)} ours --fuse ${String(k).padEnd(2)} ${rate.toFixed(0).padStart(6)} images/s${vsTorch}${vsAlone}`);
  }
  if (own) {
    const vsTorch = python ? `, ${(ownBest.rate / torch).toFixed(2)}x PyTorch` : '';
    console.log(`  ${kind.padEnd(9)} ours --fuse ${String(lastK).padEnd(2)} ${ownBest.rate.toFixed(0).padStart(6)} images/s${vsTorch}, with wasm's own kernels: the compiled ones give ${(best.get(lastK).rate / ownBest.rate).toFixed(2)}x; mean val_acc ${(ownBest.acc * 100).toFixed(2)}%`);
  }
  console.log(python ? `  ${kind.padEnd(9)} PyTorch       ${torch.toFixed(0).padStart(6)} images/s` : `  PyTorch: skipped (python3 with torch not installed: apt-get install python3-torch)`);
}
process.exit(0);
