#!/usr/bin/env node
// npm run bench:fuse: fused trials (train/loop.ts's trainGroup) against the same trials trained
// one after another, in one process on one thread, on the backend BENCH_BACKEND (default wasm;
// webgpu runs where an adapter is found). For each K in KS (default 1,2,4,8,16): K trials of the
// reference recipe differing by seed and learning rate, IMAGES training images each (default
// 2048; 256 on webgpu), one epoch; prints the total images/s of the K trials trained as one
// group and of the same K trained separately, and the ratio. Rounds alternate (ROUNDS, default 2)
// and each figure is its best round: the machine may be shared. This measures the training loop
// itself; bench/fuse-sweep.mjs (run after it) measures whole sweeps, fused, unfused and in PyTorch.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const backend = process.env.BENCH_BACKEND ?? 'wasm';
const KS = (process.env.KS ?? '1,2,4,8,16').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const IMAGES = Number(process.env.IMAGES ?? (backend === 'webgpu' ? 256 : 2048));

const { initBackend } = await import(join(root, 'dist/backend/index.js'));
const { loadDataset } = await import(join(root, 'dist/data/dataset.js'));
const { ensureEmbeddedMnist } = await import(join(root, 'dist/data/embedded.js'));
const { cacheDir } = await import(join(root, 'dist/data/cache-dir.js'));
const { trainGroup, trainModel } = await import(join(root, 'dist/train/loop.js'));
const { loadExperiment } = await import(join(root, 'dist/config/experiment.js'));

const active = await initBackend(backend);
const { nativeKernelsText } = await import(join(root, 'dist/backend/native-addon.js'));
const data = loadDataset(ensureEmbeddedMnist(join(cacheDir(), 'mnist-embedded')), { validation: { from: 'test' }, limitTrain: IMAGES, mean: 0.1307, std: 0.3081 });
// Validation is not what is measured: a few images.
data.validation.count = Math.min(data.validation.count, 64);
console.log(`lenet-sweep bench, fused trials: ${backend}${active.adapter ? ` on ${active.adapter.name}` : ''}${backend === 'wasm' ? ` (${nativeKernelsText()})` : ''}, reference recipe, ${IMAGES} embedded MNIST training images per trial, batch 64, one epoch; best of ${ROUNDS} alternating rounds`);

/** K trials of the reference recipe: their own seeds and learning rates. */
function trials(k) {
  const value = { name: 'bench-fuse', model: { pooling: 'avg' }, training: { epochs: 1, batch_size: 64, seed: 1 } };
  const [one] = loadExperiment({ label: 'bench-fuse', value }).trials;
  return Array.from({ length: k }, (_, i) => ({ ...one.config, training: { ...one.config.training, seed: i + 1 }, optimizer: { ...one.config.optimizer, lr: 0.001 * (1 + i / 10) } }));
}

/** Total training images/s of the K trials, from the epochs' own training times. */
async function rate(configs, fused) {
  let seconds = 0;
  const hooks = () => ({ onEpoch: (m) => (seconds += data.train.count / m.images_per_s) });
  if (fused) {
    const shared = { seconds: 0 };
    // The group's trials train together: its epoch time is one trial's, shared by all.
    await trainGroup(configs.map((config, i) => ({ config, hooks: i === 0 ? { onEpoch: (m) => (shared.seconds = data.train.count / m.images_per_s) } : {} })), data);
    seconds = shared.seconds;
  } else {
    for (const config of configs) await trainModel(config, data, hooks());
  }
  return (configs.length * data.train.count) / seconds;
}

// Warm-up: the first training of a process compiles and allocates what the others reuse.
await rate(trials(1), false);

for (const k of KS) {
  const configs = trials(k);
  const best = { fused: 0, separate: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    best.separate = Math.max(best.separate, await rate(configs, false));
    best.fused = Math.max(best.fused, await rate(configs, true));
  }
  console.log(`  K=${String(k).padStart(2)}: fused ${best.fused.toFixed(0).padStart(6)} images/s, separate ${best.separate.toFixed(0).padStart(6)} images/s, ${(best.fused / best.separate).toFixed(2)}x`);
}
process.exit(0);
