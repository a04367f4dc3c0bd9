#!/usr/bin/env node
// npm run bench:webgpu: the webgpu backend on whatever adapter this machine has, through the
// real CLI. Prints the adapters Dawn finds, then the total training throughput with 1, 2, 4 and
// 8 trials in flight on the one adapter (TRIALS to change the list), and the wasm backend's
// figure for one trial beside it. Each trial is the reference recipe on IMAGES embedded MNIST
// training images (default 256: a CPU implementation of Vulkan such as lavapipe manages tens of
// images/s; give a real GPU 8192 or more) for 2 epochs; a trial's rate is its second epoch's
// (the first compiles the shaders), and the total is their sum, since the trials run together.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lenet-sweep-bench-webgpu-'));
const cache = process.env.LENET_SWEEP_CACHE ?? join(work, 'cache');
const IMAGES = Number(process.env.IMAGES ?? 256);
const TRIALS = (process.env.TRIALS ?? '1,2,4,8').split(',').map(Number);
const EPOCHS = 2;

const { probeWebgpu } = await import(join(root, 'dist/backend/choice.js'));
const probe = await probeWebgpu();
console.log(`lenet-sweep bench, webgpu: ${IMAGES} embedded MNIST training images per trial, batch 64, rate of epoch ${EPOCHS}; ${availableParallelism()} CPU cores`);
console.log(`  adapters Dawn lists: ${probe.adapters.length ? probe.adapters.join('; ') : 'none'}`);
if (!probe.adapter) {
  console.log(`  no WebGPU adapter: ${probe.tried.join('; ')}`);
  process.exit(0);
}
const { name, api, cpu, description } = probe.adapter;
console.log(`  adapter used: ${name} (${api}${cpu ? ', a CPU implementation' : ''}; ${description})`);

/** Total images/s of `trials` trials of the reference recipe trained at once on `backend`. */
function throughput(backend, trials) {
  const file = join(work, `bench-${backend}-${trials}.yaml`);
  const seeds = Array.from({ length: trials }, (_, i) => i + 1).join(', ');
  writeFileSync(
    file,
    `name: bench-${backend}-${trials}\nbackend: ${backend}\nmodel: { pooling: avg }\n` +
      `training: { epochs: ${EPOCHS}, batch_size: 64, seed: 1, limit_train: ${IMAGES} }\n` +
      `sweep:\n  parameters:\n    training.seed: [${seeds}]\n`,
  );
  const db = join(work, 'bench.db');
  execFileSync(process.execPath, [join(root, 'dist/cli/main.js'), file, '--db', db, '--workers', String(trials), '--rerun', '--no-tui'], {
    env: { ...process.env, LENET_SWEEP_CACHE: cache },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const conn = new Database(db, { readonly: true });
  const rows = conn.prepare(`SELECT e.images_per_s FROM epochs e WHERE e.sweep = ? AND e.epoch = ?`).all(`bench-${backend}-${trials}`, EPOCHS);
  conn.close();
  return rows.reduce((sum, r) => sum + r.images_per_s, 0);
}

const single = throughput('webgpu', 1);
for (const n of TRIALS) {
  const total = n === 1 ? single : throughput('webgpu', n);
  console.log(`  webgpu, ${n} trial${n === 1 ? ' ' : 's'} in flight: ${String(Math.round(total)).padStart(6)} images/s in all (${(total / single).toFixed(2)}x one trial)`);
}
console.log(`  wasm, 1 trial (one core):     ${String(Math.round(throughput('wasm', 1))).padStart(6)} images/s`);
