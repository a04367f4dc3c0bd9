import Database from 'better-sqlite3';
/**
 * Sweeps on the webgpu backend through the real CLI: trials in GPU processes, the adapter
 * recorded, metrics that match wasm's, `auto` passing a CPU implementation by, the probe's
 * routes (Vulkan, else GL ES), and the failures: no adapter (bad input) and a GPU process that
 * dies mid-trial (that trial fails, the sweep goes on). On this machine the adapter is Mesa's
 * lavapipe (scripts/install-webgpu-cpu-driver.sh), tens of images/s: tiny budgets.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CACHE, CLI, cli, ROOT, startCli } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';
import { smallDigits } from './small-digits.js';

/**
 * The digits every sweep here trains on: 256 training images, 256 validation images, 64 test
 * images. On lavapipe a GPU process works through tens of images a second, and the embedded
 * split would have it validate and test on 1,002 images each, most of a trial's time.
 */
const DATA = `data: { dataset: idx, dir: ${smallDigits(512, 64)}, validation: 0.5 }\n`;

/** Two tiny trials: 128 training images, one epoch (validated on DATA's 256 images). */
const TINY = `name: tiny-gpu\n${DATA}training: { epochs: 1, batch_size: 32, seed: 1, limit_train: 128 }\nsweep:\n  parameters:\n    model.pooling: [avg, max]\n`;

/**
 * TINY on the embedded split, for the comparison with wasm: its tolerances were set on these
 * images (on DATA's, the first epoch's train_loss of the two backends differs by 0.0029).
 */
const TINY_EMBEDDED = TINY.replace(DATA, '');

/** No Vulkan driver and no EGL vendor library: Dawn finds no adapter on any route. */
const NO_DRIVERS = { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json', __EGL_VENDOR_LIBRARY_FILENAMES: '/nonexistent/egl.json' };

interface Row {
  id: string;
  status: string;
  backend: string;
  adapter: { name: string; api: string; cpu: boolean } | null;
  error: string | null;
}

const rows = async (db: string): Promise<Row[]> => JSON.parse((await cli('runs', 'list', '--db', db, '--json')).stdout);

const epochs = (db: string) =>
  JSON.parse(execFileSync('sqlite3', ['-json', db, 'SELECT trial_id, train_loss, val_loss, val_acc FROM epochs ORDER BY trial_id'], { encoding: 'utf8' }) || '[]') as {
    trial_id: string;
    train_loss: number;
    val_loss: number;
    val_acc: number;
  }[];

describe('sweeps on webgpu', () => {
  it('an early-termination rule judges trials in GPU processes: verdicts reach them, the laggards end pruned', async () => {
    const file = writeExperiment(
      `name: gpu-rule\n${DATA}backend: webgpu\n` +
        'training: { epochs: 2, batch_size: 32, seed: 1, limit_train: 64 }\n' +
        'sweep:\n  parameters:\n    optimizer.lr: [0.003, 0.0001, 0.00005]\n  early_terminate: { type: asha, min_resource: 1, reduction_factor: 2 }\n',
    );
    const db = join(tempDir(), 'gpu.db');
    const r = await cli(file, '--db', db, '--no-tui', '--workers', '1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const trials = (await rows(db)) as (Row & { epochs: number; prune_reason: string | null })[];
    // The first trial went on past epoch 1 (its verdict said so); the slow learners stopped there.
    expect(trials.map((t) => [t.status, t.epochs])).toEqual([['completed', 2], ['pruned', 1], ['pruned', 1]]);
    expect(trials[1].prune_reason).toMatch(/at epoch 1 not in the top 1\/2 of rung 0/);
  });

  it('trains both trials, records the adapter, and ends with the numbers wasm gives', async () => {
    const dir = tempDir();
    const file = writeExperiment(TINY_EMBEDDED);
    const gpu = join(dir, 'gpu.db');
    // --gpus 0: the adapter picked by name, as on a machine with several.
    const r = await cli(file, '--backend', 'webgpu', '--gpus', '0', '--db', gpu, '--no-tui');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/started on webgpu \(.+ \(vulkan, CPU\)\)/);
    const trials = await rows(gpu);
    expect(trials.map((t) => [t.status, t.backend, t.adapter?.api, t.adapter?.cpu])).toEqual([
      ['completed', 'webgpu', 'vulkan', true],
      ['completed', 'webgpu', 'vulkan', true],
    ]);
    expect((await cli('runs', 'show', trials[0].id, '--db', gpu)).stdout).toMatch(/webgpu on .+ \(vulkan, CPU\)/);

    const wasm = join(dir, 'wasm.db');
    expect((await cli(file, '--backend', 'wasm', '--db', wasm, '--no-tui')).code).toBe(0);
    const [onGpu, onWasm] = [epochs(gpu), epochs(wasm)];
    // The backend is part of a trial's config, so of its id: match the trials by their order.
    expect(onGpu).toHaveLength(2);
    onGpu.forEach((g, i) => {
      const w = onWasm[i];
      expect(Math.abs(g.train_loss - w.train_loss)).toBeLessThan(1e-3);
      expect(Math.abs(g.val_loss - w.val_loss)).toBeLessThan(1e-3);
      // An untrained net's logits lie close together: float rounding flips a few of 1,000 answers.
      expect(Math.abs(g.val_acc - w.val_acc)).toBeLessThanOrEqual(0.01);
    });
  });

  it('auto passes a CPU implementation of a GPU by, and `sweep backends` says why', async () => {
    const b = await cli('backends');
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/webgpu +adapter .+ \(vulkan, CPU\): a CPU implementation, for tests; auto passes it by/);
    expect(b.stdout).toContain('* auto takes wasm');
    expect(b.stdout).toMatch(/^WebGPU adapters \(for --gpus, by number or name\): 0: .+$/m);
    expect((await cli('backends', 'extra')).stderr).toBe("sweep backends: unexpected argument 'extra'; see sweep backends --help\n");
    const json = JSON.parse((await cli('backends', '--json')).stdout);
    expect(json.auto).toBe('wasm');
    expect(json.webgpu.adapter).toMatchObject({ api: 'vulkan', cpu: true });
    expect(json.webgpu.adapters.length).toBeGreaterThan(0);

    // Where a GPU driver's device node is (/dev/dri here, in a mount namespace of its own), auto
    // asks Dawn, which finds only lavapipe: passed by, the trial trains on wasm.
    const dir = tempDir();
    const file = writeExperiment(TINY.replace('[avg, max]', '[avg]'));
    const db = join(dir, 'auto.db');
    const saved = join(dir, 'dev');
    const script = [
      'set -e',
      `mkdir -p '${saved}' && mount --bind /dev '${saved}' && mount -t tmpfs tmpfs /dev`,
      `for node in null zero random urandom; do touch /dev/$node && mount --bind '${saved}'/$node /dev/$node; done`,
      `mkdir /dev/shm /dev/dri && mount --bind '${saved}/shm' /dev/shm`,
      'ls -d /dev/dri',
      'exec "$@"',
    ].join('\n');
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', process.execPath, CLI, file, '--db', db, '--no-tui'], { cwd: ROOT, env: { ...process.env, LENET_SWEEP_CACHE: CACHE }, encoding: 'utf8', timeout: 120_000 });
    expect(r.stdout.split('\n')[0]).toBe('/dev/dri');
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect((await rows(db)).map((t) => [t.backend, t.adapter])).toEqual([['wasm', null]]);
    // Without one, Dawn is not asked (there is nothing it could find but CPU implementations): the same.
    const plain = join(dir, 'plain.db');
    expect((await cli(file, '--db', plain, '--no-tui')).code).toBe(0);
    expect((await rows(plain)).map((t) => [t.backend, t.adapter])).toEqual([['wasm', null]]);
  });

  it('without a Vulkan driver, reaches the adapter through OpenGL ES, and trains there', async () => {
    const noVulkan = { VK_ICD_FILENAMES: NO_DRIVERS.VK_ICD_FILENAMES, VK_DRIVER_FILES: NO_DRIVERS.VK_DRIVER_FILES };
    const b = await startCli(['backends', '--json'], undefined, noVulkan);
    expect(JSON.parse(b.stdout).webgpu.adapter).toMatchObject({ api: 'opengles', cpu: true });
    // Listed on the route found, so that --gpus can name it there too.
    expect(JSON.parse(b.stdout).webgpu.adapters.length).toBeGreaterThan(0);
    const dir = tempDir();
    const db = join(dir, 'gles.db');
    const r = await startCli([writeExperiment(TINY.replace('[avg, max]', '[max]')), '--backend', 'webgpu', '--db', db, '--no-tui'], undefined, noVulkan);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await rows(db)).map((t) => [t.status, t.adapter?.api])).toEqual([['completed', 'opengles']]);
  });

  it('backend: webgpu with no adapter is bad input: one line naming the fix, exit 2, no database', async () => {
    const dir = tempDir();
    const db = join(dir, 'none.db');
    const r = await startCli([writeExperiment(TINY), '--backend', 'webgpu', '--db', db, '--no-tui'], undefined, NO_DRIVERS);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^--backend: backend 'webgpu' found no adapter \(vulkan: .*; opengles: .*\): .*install-webgpu-cpu-driver\.sh/);
    expect(existsSync(db)).toBe(false);
  });

  it('--gpus names adapters by number or name; a wrong one is bad input', async () => {
    const dir = tempDir();
    const file = writeExperiment(TINY);
    const wrong = await cli(file, '--backend', 'webgpu', '--gpus', '7', '--db', join(dir, 'g.db'), '--no-tui');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^--gpus: no adapter 7 \(adapters: 0: .+\)\n$/);
    const unnamed = await cli(file, '--backend', 'webgpu', '--gpus', 'radeon', '--db', join(dir, 'g.db'), '--no-tui');
    expect(unnamed.stderr).toMatch(/^--gpus: no adapter named 'radeon' \(adapters: 0: .+\)\n$/);
    const onWasm = await cli(file, '--backend', 'wasm', '--gpus', '0', '--db', join(dir, 'g.db'), '--no-tui');
    expect(onWasm.stderr).toMatch(/^--gpus: no trial runs on webgpu/);
    expect(existsSync(join(dir, 'g.db'))).toBe(false);
  });

  /** Runs two webgpu trials and SIGKILLs one GPU process once both have stored an epoch. */
  async function killOneGpuProcess(db: string, ...extra: string[]) {
    let killed = false;
    const r = await startCli([writeExperiment(TINY.replace('epochs: 1', 'epochs: 2')), '--backend', 'webgpu', '--db', db, '--no-tui', '--workers', '2', ...extra], (out, child) => {
      if (killed || (out.match(/epoch 1\/2/g) ?? []).length < 2) return;
      killed = true;
      // The GPU processes are children of the sweep's process (forked from its pool threads).
      const pids = execFileSync('pgrep', ['-P', String(child.pid), '-f', 'gpu-process'], { encoding: 'utf8' }).trim().split('\n');
      process.kill(Number(pids[0]), 'SIGKILL');
    });
    expect(killed).toBe(true);
    return r;
  }

  it('a GPU process that dies mid-trial fails that trial with the reason (--retries 0); the other trial completes', async () => {
    const db = join(tempDir(), 'crash.db');
    const r = await killOneGpuProcess(db, '--retries', '0');
    expect(r.code).toBe(1);
    const statuses = (await rows(db)).map((t) => t.status).sort();
    expect(statuses).toEqual(['completed', 'failed']);
    expect((await rows(db)).find((t) => t.status === 'failed')!.error).toMatch(/^the GPU process ended \(SIGKILL\)/);
  });

  it('a trial whose GPU process died is retried from its checkpoint, each attempt recorded', async () => {
    const db = join(tempDir(), 'retry.db');
    const r = await killOneGpuProcess(db);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/note: trial \w{12}: the GPU process ended \(SIGKILL\).*; starting it again from its last checkpoint \(retry 1 of 1\)/);
    expect(r.stdout).toMatch(/resumed after epoch [12] \(its checkpoint\) on webgpu/);
    expect((await rows(db)).map((t) => t.status)).toEqual(['completed', 'completed']);
    const d = new Database(db, { readonly: true });
    const attempts = d.prepare(`SELECT attempt, from_epoch, status, error FROM attempts WHERE trial_id IN (SELECT trial_id FROM attempts WHERE attempt = 2) ORDER BY attempt`).all() as Array<{ attempt: number; from_epoch: number; status: string; error: string | null }>;
    const epochs = d.prepare(`SELECT trial_id, count(*) AS n, count(DISTINCT epoch) AS distinct_epochs FROM epochs GROUP BY trial_id`).all();
    d.close();
    expect(attempts.map((a) => [a.attempt, a.status])).toEqual([[1, 'failed'], [2, 'completed']]);
    expect(attempts[0].error).toMatch(/^the GPU process ended \(SIGKILL\)/);
    expect(attempts[1].from_epoch).toBeGreaterThanOrEqual(1);
    expect(epochs).toEqual([expect.objectContaining({ n: 2, distinct_epochs: 2 }), expect.objectContaining({ n: 2, distinct_epochs: 2 })]);
  });

  it('a GPU process that hangs (stopped) is killed when the sweep is stopped at once; none outlives it', async () => {
    const dir = tempDir();
    let hung = 0;
    const r = await startCli([writeExperiment(TINY.replace('epochs: 1', 'epochs: 3')), '--backend', 'webgpu', '--db', join(dir, 'hang.db'), '--no-tui', '--workers', '2'], (out, child) => {
      if (hung || (out.match(/started on webgpu/g) ?? []).length < 2) return;
      hung = Number(execFileSync('pgrep', ['-P', String(child.pid), '-f', 'gpu-process'], { encoding: 'utf8' }).trim().split('\n')[0]);
      process.kill(hung, 'SIGSTOP');
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGINT'), 500);
    });
    expect(hung).toBeGreaterThan(0);
    expect(r.code).toBe(130);
    // Killed: no such process any more, or a zombie left to init (which reaps it in its own time).
    await new Promise((resolve) => setTimeout(resolve, 500));
    let state = '';
    try {
      state = execFileSync('ps', ['-o', 'stat=,ppid=', '-p', String(hung)], { encoding: 'utf8' });
    } catch {
      // ps exits 1 when there is no such process.
    }
    expect(state.trim()).toMatch(/^(Z.*)?$/);
    expect((await rows(join(dir, 'hang.db'))).map((t) => t.status)).toEqual(['interrupted', 'interrupted']);
  });

  it('Ctrl-C while the GPU processes start (SIGINT to the terminal\'s whole group) stops the sweep: no trial failed, none outlives it', async () => {
    const db = join(tempDir(), 'ctrl-c.db');
    let gpuPids: number[] = [];
    const r = await startCli([writeExperiment(TINY), '--backend', 'webgpu', '--db', db, '--no-tui', '--workers', '2'], undefined, {}, { onStart: (child) => {
      // As soon as a GPU process exists, still loading tfjs and Dawn: the terminal signals everyone.
      const poll = setInterval(() => {
        try {
          gpuPids = execFileSync('pgrep', ['-P', String(child.pid), '-f', 'gpu-process'], { encoding: 'utf8' }).trim().split('\n').map(Number);
        } catch {
          return;
        }
        clearInterval(poll);
        process.kill(-child.pid!, 'SIGINT');
      }, 10);
      child.on('exit', () => clearInterval(poll));
    } });
    expect(gpuPids.length).toBeGreaterThan(0);
    expect(r.code, r.stdout + r.stderr).toBe(130);
    expect(r.stdout).not.toMatch(/failed/);
    for (const t of await rows(db)) expect(['queued', 'interrupted']).toContain(t.status);
    // The GPU processes end with their channel, at the latest after the batch in flight.
    const deadline = Date.now() + 30_000;
    const alive = () => gpuPids.filter((pid) => {
      try {
        return !/^Z/.test(execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim());
      } catch {
        return false;
      }
    });
    while (alive().length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(alive()).toEqual([]);
  });
});
