/**
 * The worker pool from the built modules (the pool loads dist/worker/trial-worker.js): a trial
 * that throws is marked failed with its error, and the others go on.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { loadExperiment } from '../dist/config/experiment.js';
import { prepareDataset } from '../dist/data/sources.js';
import { openForWriting } from '../dist/store/open.js';
import { RunWriter } from '../dist/store/writer.js';
import { SweepRun } from '../dist/sweep/run-sweep.js';
import { SweepSearch } from '../dist/sweep/search.js';
import type { Trial } from '../src/config/experiment.js';
import type { WorkerEvent } from '../src/worker/messages.js';
import { CACHE, ROOT } from './cli-helpers.js';
import { tempDir } from './helpers.js';

it('marks a trial that throws as failed, with its error, and finishes the others', async () => {
  process.env.LENET_SWEEP_CACHE = CACHE;
  const { experiment, trials } = loadExperiment('experiments/smoke.yaml');
  const good: Trial = trials[0];
  // A config no validated file can produce: the worker's model builder throws on it.
  const broken: Trial = { id: 'broken000000', params: { 'model.activation': 'bogus' }, config: { ...good.config, model: { ...good.config.model, activation: 'bogus' as 'relu' } } };
  const path = join(tempDir(), 'runs.db');
  const db = openForWriting(path);
  const writer = RunWriter.begin(db, 'smoke.yaml', experiment, [good, broken], { host: 'test', versions: {} });
  const events: WorkerEvent[] = [];
  const { dir: dataDir } = await prepareDataset(good.config.data);
  const search = new SweepSearch({ metric: experiment.metric, stored: [], queue: [good, broken] });
  const run = new SweepRun(writer, search, { workers: 2, dataDir: () => dataDir, store: async (write: () => void) => write(), gpu: false, checkpoints: join(tempDir(), 'checkpoints'), keep: 'last', retries: 0 }, (_t: Trial, e: WorkerEvent) => events.push(e));
  const outcome = await run.done;
  db.close();

  expect(Object.fromEntries(outcome.statuses)).toEqual({ [good.id]: 'completed', broken000000: 'failed' });
  expect(events.find((e) => e.type === 'failed')).toMatchObject({ trialId: 'broken000000' });
  const check = new Database(path, { readonly: true });
  const rows = check.prepare('SELECT id, status, error FROM trials ORDER BY id').all() as { id: string; status: string; error: string | null }[];
  check.close();
  expect(rows.find((r) => r.id === 'broken000000')).toMatchObject({ status: 'failed' });
  expect(rows.find((r) => r.id === 'broken000000')!.error).toBeTruthy();
  expect(rows.find((r) => r.id === good.id)).toMatchObject({ status: 'completed', error: null });
});

it('a trial the wasm heap cannot hold fails with what to lower, and the next trial on that worker gets a fresh module', async () => {
  process.env.LENET_SWEEP_CACHE = CACHE;
  const { experiment, trials } = loadExperiment('experiments/smoke.yaml');
  const base: Trial = trials[0];
  // The sweep command refuses this before training (machine-fit.ts); past that check, the worker
  // must still say what happened: the first convolution of an 8192-image batch with 256 filters alone is 6.6 GB.
  // (The embedded digits train on 7,996 images, so the batch that trains, and the message, is 7,996.)
  const huge: Trial = {
    id: 'huge00000000',
    params: {},
    config: { ...base.config, model: { ...base.config.model, conv1_filters: 256 }, training: { ...base.config.training, batch_size: 8192, limit_train: 8192 } },
  };
  const small: Trial = { ...base, config: { ...base.config, training: { ...base.config.training, limit_train: 64 } } };
  const path = join(tempDir(), 'runs.db');
  const db = openForWriting(path);
  const writer = RunWriter.begin(db, 'smoke.yaml', experiment, [huge, small], { host: 'test', versions: {} });
  const { dir: dataDir } = await prepareDataset(base.config.data);
  const events: WorkerEvent[] = [];
  // One worker: the small trial runs on the thread that replaced the one the huge trial broke.
  const search = new SweepSearch({ metric: experiment.metric, stored: [], queue: [huge, small] });
  const run = new SweepRun(writer, search, { workers: 1, dataDir: () => dataDir, store: async (write: () => void) => write(), gpu: false, checkpoints: join(tempDir(), 'checkpoints'), keep: 'last', retries: 0 }, (_t: Trial, e: WorkerEvent) => events.push(e));
  const outcome = await run.done;
  db.close();
  expect(Object.fromEntries(outcome.statuses)).toEqual({ huge00000000: 'failed', [small.id]: 'completed' });
  const failure = events.find((e) => e.type === 'failed') as Extract<WorkerEvent, { type: 'failed' }>;
  expect(failure.error).toMatch(/^out of memory in the wasm backend \(.+\): a training step of batch 7996 with these widths needs about \d+(\.\d)? GB and the wasm backend has 4 GB; lower training.batch_size or the model widths$/);
});

it('a crashed thread\'s grace for its last events holds the process open (else Node could end the sweep with 0)', () => {
  // util/within.ts, as the runner awaits a crashed trial's last event: with nothing else alive.
  const within = JSON.stringify(join(ROOT, 'dist', 'util', 'within.js'));
  const script = `import { within } from ${within}; console.log(await within(new Promise(() => {}), 200), await within(Promise.resolve('event'), 60_000));`;
  const started = performance.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect([r.status, r.stdout.trim()]).toEqual([0, 'null event']);
  // The long timer of the one that settled at once is cleared: it does not hold the process for a minute.
  expect(performance.now() - started).toBeLessThan(30_000);
});
