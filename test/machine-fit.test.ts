/**
 * Fitting a sweep to the machine: memory estimates against the real model, the choice of
 * workers as a pure decision, and the CLI refusing what cannot run before anything is written.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { enableProdMode } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { evaluationChunk, parameterCount, WASM_USABLE_BYTES, wasmStepBytes, workerBytes } from '../src/backend/memory.js';
import { buildLeNet } from '../src/model/lenet.js';
import { chooseWorkers } from '../src/sweep/workers.js';
import { Random } from '../src/util/random.js';
import { cli } from './cli-helpers.js';
import { config } from './experiment-fixture.js';
import { tempDir, writeExperiment } from './helpers.js';

// Without it tfjs prints its banner about tfjs-node on the cpu backend.
enableProdMode();

describe('memory estimates', () => {
  it('count the parameters the model builds', () => {
    for (const model of [config().model, config({ model: { conv1_filters: 32, conv2_filters: 48, fc1_units: 200, fc2_units: 10 } }).model]) {
      for (const side of [28, 16]) {
        const lenet = buildLeNet(model, new Random(1), side);
        expect(parameterCount(model, side)).toBe(lenet.paramCount);
        lenet.dispose();
      }
    }
    expect(parameterCount(config().model, 28)).toBe(61_706);
  });

  it('grow with the batch and the widths; LeNet-5 at batch 64 is small, the schema\'s largest is far beyond wasm', () => {
    const reference = wasmStepBytes(config());
    expect(reference).toBeLessThan(50e6);
    expect(wasmStepBytes(config({ training: { batch_size: 128 } }))).toBeGreaterThan(reference);
    expect(wasmStepBytes(config({ model: { conv1_filters: 12 } }))).toBeGreaterThan(reference);
    // Measured on wasm: batch 8192 of LeNet-5 took 2.0 GB and trained; 1024 images with 128/128/512/512 could not.
    expect(wasmStepBytes(config({ training: { batch_size: 8192 } }))).toBeLessThan(WASM_USABLE_BYTES);
    expect(wasmStepBytes(config({ model: { conv1_filters: 128, conv2_filters: 128, fc1_units: 512, fc2_units: 512 }, training: { batch_size: 1024 } }))).toBeGreaterThan(WASM_USABLE_BYTES);
    expect(workerBytes(config(), { images: 70_000, side: 28 })).toBeGreaterThan(workerBytes(config(), { images: 10_000, side: 28 }));
  });

  it('evaluate in chunks of 1000 images, fewer where conv1 is wide', () => {
    expect(evaluationChunk({ conv1_filters: 6 }, 28)).toBe(1000);
    expect(evaluationChunk({ conv1_filters: 64 }, 28)).toBe(1000);
    expect(evaluationChunk({ conv1_filters: 1024 }, 28)).toBe(79);
  });
});

describe('chooseWorkers', () => {
  const GB = 1e9;
  const machine = { byDefault: 2, trials: 100, cores: 2, freeBytes: 10 * GB, perWorkerBytes: 0.2 * GB };

  it('one per core by default, never more than the trials', () => {
    expect(chooseWorkers({ ...machine, requested: undefined })).toEqual({ workers: 2, notes: [] });
    expect(chooseWorkers({ ...machine, requested: 8, trials: 3 }).workers).toBe(3);
  });

  it('more than the cores: allowed, with a note', () => {
    expect(chooseWorkers({ ...machine, requested: 8 })).toEqual({
      workers: 8,
      notes: ['note: --workers 8 is more than the 2 CPU cores here: the trials take turns on them, each slower and none sooner'],
    });
  });

  it('more than the memory holds: refused when asked for, capped with a note by default', () => {
    expect(chooseWorkers({ ...machine, requested: 64 }).refusal).toBe(
      '--workers 64: each worker needs about 0.20 GB for this sweep and 64 need 13 GB, and 10 GB of memory is free; use --workers 45 or fewer',
    );
    const capped = chooseWorkers({ ...machine, requested: undefined, byDefault: 64 });
    expect(capped.workers).toBe(45);
    expect(capped.notes).toEqual(['note: running 45 workers, not 64: each worker needs about 0.20 GB for this sweep and 64 need 13 GB, and 10 GB of memory is free']);
    expect(chooseWorkers({ ...machine, requested: undefined, freeBytes: 0.1 * GB }).refusal).toMatch(/^each worker needs about 0.20 GB for this sweep, and 0.10 GB of memory is free; free memory, or lower/);
  });
});

describe('sweep FILE on this machine', () => {
  // (The embedded digits train on 7,996 images, so a batch_size of 8192 is a batch of 7,996.)
  it('refuses a trial the wasm backend cannot hold before anything is written, saying what to lower', async () => {
    const db = join(tempDir(), 'runs.db');
    const file = writeExperiment('name: huge\nmodel: { conv1_filters: 1024, conv2_filters: 1024, fc1_units: 1024, fc2_units: 1024 }\ntraining: { batch_size: 8192 }\n');
    const r = await cli(file, '--db', db);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^${file}: a training step of batch 7996 with widths 1024/1024/1024/1024 \\(53,517,322 parameters\\) needs about \\d+ GB, more than the wasm backend's 4 GB; lower training.batch_size to \\d+ or less, or the model widths\\n$`));
    expect(existsSync(db)).toBe(false);
  });

  it('trains wide first convolutions (evaluating 1000 images at once made 1.2 GB tensors: "memory access out of bounds")', async () => {
    const db = join(tempDir(), 'runs.db');
    const file = writeExperiment('name: wide\nmodel: { conv1_filters: 384 }\ntraining: { epochs: 1, batch_size: 16, limit_train: 32 }\n');
    const r = await cli(file, '--db', db, '--no-tui', '--workers', '4');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\] completed: /);
  });
});
