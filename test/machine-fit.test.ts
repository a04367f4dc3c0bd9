/**
 * Fitting a sweep to the machine: memory estimates against the real model, the choice of
 * workers as a pure decision, and the CLI refusing what cannot run before anything is written.
 */
import { numberNames } from '../src/data/class-names.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { enableProdMode } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { evaluationChunk, parameterCount, WASM_USABLE_BYTES, wasmStepBytes, workerBytes } from '../src/backend/memory.js';
import { buildLeNet } from '../src/model/lenet.js';
import { fitFuse } from '../src/sweep/machine-fit.js';
import { addressSpaceLimit, chooseWorkers, openFilesLimit } from '../src/sweep/workers.js';
import { Random } from '../src/util/random.js';
import { CACHE, CLI, cli, ROOT } from './cli-helpers.js';
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

describe('chooseWorkers within an address-space limit (ulimit -v)', () => {
  const GB = 1e9;
  const machine = { byDefault: 2, trials: 100, cores: 2, freeBytes: 20 * GB, perWorkerBytes: 0.2 * GB };
  const space = (limit: number) => addressSpaceLimit(limit * GB, 1.1 * GB, 11.2 * GB, 0.3 * GB);

  it('caps the default, refuses a request beyond it with the number that fits, and fails when not one worker fits', () => {
    expect(chooseWorkers({ ...machine, requested: undefined, limits: [space(24)] })).toEqual({ workers: 2, notes: [] });
    expect(chooseWorkers({ ...machine, requested: undefined, limits: [space(16)] })).toEqual({
      workers: 1,
      notes: ["note: running 1 worker, not 2: each worker needs about 11 GB of address space (far more than the memory it uses: wasm's guard regions) and 2 need 22 GB, and the process's limit (ulimit -v) of 16 GB leaves 15 GB"],
    });
    expect(chooseWorkers({ ...machine, requested: 2, limits: [space(16)] }).refusal).toBe(
      "--workers 2: each worker needs about 11 GB of address space (far more than the memory it uses: wasm's guard regions) and 2 need 22 GB, and the process's limit (ulimit -v) of 16 GB leaves 15 GB; use --workers 1 or fewer",
    );
    const none = chooseWorkers({ ...machine, requested: undefined, limits: [space(2)] });
    expect([none.workers, none.refusal]).toEqual([0, undefined]);
    expect(none.failure).toBe(
      "each worker needs about 11 GB of address space (far more than the memory it uses: wasm's guard regions), and the process's limit (ulimit -v) of 2.0 GB leaves 0.60 GB: one worker needs a limit of at least 12.6 GB; raise it (ulimit -v 12402344) or lift it (ulimit -v unlimited)",
    );
    // Open files (ulimit -n) likewise, and the tightest bound is the one said.
    const files = (limit: number) => openFilesLimit(limit, 12, 20, 15);
    expect(chooseWorkers({ ...machine, requested: 4, limits: [space(100), files(90)] }).refusal).toBe(
      "--workers 4: each worker needs about 20 open files and 4 need 80, and the process's limit (ulimit -n) of 90 leaves 63; use --workers 3 or fewer",
    );
    expect(chooseWorkers({ ...machine, requested: undefined, limits: [space(100), files(40)] }).failure).toBe(
      "each worker needs about 20 open files, and the process's limit (ulimit -n) of 40 leaves 13: one worker needs a limit of at least 47; raise it (ulimit -n 1024)",
    );
    // Memory, where it is the tighter bound, is said as before.
    expect(chooseWorkers({ ...machine, requested: 4, freeBytes: 0.5 * GB, limits: [space(100)] }).refusal).toMatch(/^--workers 4: each worker needs about 0.20 GB for this sweep and 4 need 0.80 GB, and 0.50 GB of memory is free; use --workers 2 or fewer$/);
  });
});

/** The CLI under a lower limit, as a shell sets it: the address space (ulimit -v, in KiB) unless another flag is given. */
function underLimit(kib: number, args: string[], flag = '-v'): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-c', `ulimit ${flag} ${kib}; exec "$0" "$@"`, process.execPath, CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, LENET_SWEEP_CACHE: CACHE }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sweep FILE and sweep agent within the machine', () => {
  it('under ulimit -v too low for one wasm worker: one line saying what is needed, exit 1, nothing written (V8 aborted the process with exit 133 and left the sweep running)', () => {
    const db = join(tempDir(), 'runs.db');
    const r = underLimit(2_000_000, ['experiments/smoke.yaml', '--db', db, '--no-tui']);
    expect([r.code, r.stdout]).toEqual([1, '']);
    expect(r.stderr).toMatch(/^error: each worker needs about 11 GB of address space \(far more than the memory it uses: wasm's guard regions\), and the process's limit \(ulimit -v\) of 2\.0 GB leaves 0\.\d\d GB: one worker needs a limit of at least 1\d\.\d GB; raise it \(ulimit -v \d+\) or lift it \(ulimit -v unlimited\)\n$/);
    expect(existsSync(db)).toBe(false);
  });

  it('under ulimit -v that holds one wasm worker: --workers 2 refused with the number that fits; by default one worker, on wasm (one trial fell to the cpu backend)', () => {
    const db = join(tempDir(), 'runs.db');
    const refused = underLimit(16_000_000, ['experiments/smoke.yaml', '--db', db, '--no-tui', '--workers', '2']);
    expect([refused.code, refused.stdout]).toEqual([2, '']);
    expect(refused.stderr).toMatch(/^--workers 2: each worker needs about 11 GB of address space .* and the process's limit \(ulimit -v\) of 16 GB leaves 1\d GB; use --workers 1 or fewer\n$/);
    expect(existsSync(db)).toBe(false);
    const r = underLimit(16_000_000, ['experiments/smoke.yaml', '--db', db, '--no-tui', '--set', 'training.limit_train=64']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^note: running 1 worker, not 2: each worker needs about 11 GB/);
    expect(r.stdout.match(/started on \w+/g)).toEqual(['started on wasm', 'started on wasm']);
  });

  it('under ulimit -n: too low to load a command, one line (EMFILE and a stack trace from the module loader); low, fewer workers; either way nothing written', () => {
    const db = join(tempDir(), 'runs.db');
    const low = underLimit(100, ['experiments/smoke.yaml', '--db', db, '--no-tui'], '-n');
    expect([low.code, low.stdout, low.stderr]).toEqual([1, '', 'error: this process may open 100 files (ulimit -n), fewer than the 128 lenet-sweep needs to load its commands; raise it (ulimit -n 1024)\n']);
    expect(existsSync(db)).toBe(false);
    const refused = underLimit(128, ['experiments/smoke.yaml', '--db', db, '--no-tui', '--workers', '8', '--grid', 'training.seed=1,2,3,4'], '-n');
    expect([refused.code, refused.stdout]).toEqual([2, '']);
    expect(refused.stderr).toMatch(/^--workers 8: each worker needs about 20 open files and 8 need 160, and the process's limit \(ulimit -n\) of 128 leaves \d+; use --workers \d or fewer\n$/);
    expect(existsSync(db)).toBe(false);
    const r = underLimit(128, ['experiments/smoke.yaml', '--db', db, '--no-tui', '--set', 'training.limit_train=64'], '-n');
    expect([r.code, r.stderr]).toEqual([0, '']);
  });

  it('a worker whose wasm cannot allocate its memory fails its trial saying why, instead of auto falling back to the cpu backend (a hundred times slower)', () => {
    const script = `const { initBackend } = await import('./dist/backend/index.js');
      try { console.log('backend', (await initBackend('auto', { gpu: false })).name); } catch (err) { console.log(err.message); }`;
    const r = spawnSync('bash', ['-c', `ulimit -v 8000000; exec "$0" --input-type=module -e "$1"`, process.execPath, script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect([r.stdout, r.stderr]).toEqual([
      'the wasm backend did not initialise (RangeError: WebAssembly.instantiate(): Out of memory: Cannot allocate Wasm memory for new instance): wasm reserves about 11 GB of address space for its memory, and this process may map 8.2 GB (ulimit -v 8000000); raise the limit or lift it (ulimit -v unlimited)\n',
      '',
    ]);
  });

  it('sweep agent --workers beyond the memory: refused with the number that fits, before Redis is asked (362 threads and 1.6 GB, and nothing said)', async () => {
    const r = await cli('agent', '--queue', 'redis://127.0.0.1:1', '--workers', '100000');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^--workers 100000: each worker needs about 0\.\d\d GB for a LeNet-5 trial on full MNIST and 100000 need \d+ GB, and \d+(\.\d)? GB of memory is free; use --workers \d+ or fewer\n$/);
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

describe('fitFuse: the groups a K may form, within the wasm heap', () => {
  // 200 conv1 filters at batch 256: about 1.4 GB a trial, so two fit in the heap and three do not.
  const heavy = (pooling: 'avg' | 'max', seed: number) => {
    const c = config({ model: { pooling, conv1_filters: 200 }, training: { batch_size: 256, seed } });
    return { id: `${pooling}${seed}`, params: { 'model.pooling': pooling, 'training.seed': seed }, config: c };
  };
  const dataset = () => ({ images: 1000, side: 28, trainImages: 1000, testImages: 0, classes: numberNames(10), trainingPixels: { mean: 0.13, std: 0.31 } });
  const keyOf = (t: { config: { model: { pooling: string } } }) => t.config.model.pooling;

  it('refuses a K whose groups the heap cannot hold, naming the K that fits', () => {
    const trials = [1, 2, 3, 4].map((s) => heavy('avg', s));
    expect(() => fitFuse({ trials, dataset, planned: trials.length, fuse: { k: 4, source: '--fuse 4' }, keyOf })).toThrow(
      /^--fuse 4: a group of 4 trials like avg1 \(model.pooling=avg training.seed=1\) with batch 256 needs about [\d.]+ GB, more than the wasm backend's 4 GB; use --fuse 2 or fewer/,
    );
    expect(fitFuse({ trials, dataset, planned: trials.length, fuse: { k: 4 }, keyOf })).toBe(2);
  });

  it('counts a trial only in the groups its kind can form: none when no two trials can fuse, where fusing does nothing', () => {
    const alone = [heavy('avg', 1), heavy('max', 1)];
    expect(fitFuse({ trials: alone, dataset, planned: alone.length, fuse: { k: 4, source: '--fuse 4' }, keyOf })).toBe(2);
    // Two kinds of two: groups of two at most, which fit, whatever K.
    const pairs = [heavy('avg', 1), heavy('avg', 2), heavy('max', 1), heavy('max', 2)];
    expect(fitFuse({ trials: pairs, dataset, planned: pairs.length, fuse: { k: 8, source: '--fuse 8' }, keyOf })).toBe(4);
    // Without the kinds (an adaptive search's trials are not known in advance), every group may be K.
    expect(() => fitFuse({ trials: pairs, dataset, planned: pairs.length, fuse: { k: 8, source: '--fuse 8' } })).toThrow(/a group of 4 trials .* use --fuse 2 or fewer/);
  });
});
