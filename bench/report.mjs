#!/usr/bin/env node
// npm run bench:report: how big the report of a large sweep is and how long a browser takes to
// draw it. Databases of 100 and 1,000 trials × 10 epochs (random search over four parameters,
// a quarter pruned) are written by the real RunWriter with made-up metrics (no training); the
// real CLI writes each report, and Debian's Chromium (playwright-core) opens it from disk, ROUNDS
// times (default 5): the time from navigation until every chart is drawn, median and best.
// Goal (issue 13): the 100-trial report under 3 MB, drawn in under 2 s.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { loadExperiment } from '../dist/config/experiment.js';
import { openForWriting } from '../dist/store/open.js';
import { RunWriter } from '../dist/store/writer.js';
import { writeMadeUpTrials } from './made-up-trials.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lenet-sweep-bench-report-'));
const rounds = Number(process.env.ROUNDS ?? 5);
const cli = join(root, 'dist/cli/main.js');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function database(trials) {
  const file = join(work, `sweep-${trials}.yaml`);
  writeFileSync(file, `name: bench-${trials}
training: { epochs: 10 }
sweep:
  method: random
  count: ${trials}
  seed: 1
  parameters:
    optimizer.lr: { distribution: log_uniform_values, min: 0.0001, max: 0.1 }
    model.pooling: [avg, max]
    model.dropout: { distribution: uniform, min: 0, max: 0.5 }
    training.batch_size: [32, 64, 128]
  early_terminate: { type: median, n_warmup_steps: 2 }
`);
  const path = join(work, `runs-${trials}.db`);
  const { experiment, trials: list } = loadExperiment(file);
  const db = openForWriting(path);
  const writer = RunWriter.begin(db, file, experiment, list, { host: 'bench', versions: {} });
  writer.runStarted(2);
  writeMadeUpTrials(writer, list, { confusion: true });
  writer.finish('completed');
  db.close();
  return path;
}

const browser = await chromium.launch({ executablePath: process.env.LENET_SWEEP_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  for (const trials of [100, 1000]) {
    const db = database(trials);
    const out = join(work, `report-${trials}.html`);
    const start = Date.now();
    execFileSync(process.execPath, [cli, 'report', '--db', db, '--out', out], { stdio: 'ignore' });
    const writeMs = Date.now() - start;
    const times = [];
    for (let r = 0; r < rounds; r++) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const t0 = Date.now();
      await page.goto(`file://${out}`);
      await page.waitForSelector('section.sweep[data-ready="true"]', { timeout: 120_000 });
      times.push(Date.now() - t0);
      await page.close();
    }
    console.log(`${trials} trials: report ${(statSync(out).size / 1e6).toFixed(2)} MB, written in ${(writeMs / 1000).toFixed(1)} s; drawn in ${median(times)} ms (median of ${rounds}, best ${Math.min(...times)} ms)${trials === 100 ? `; goal < 3 MB and < 2000 ms: ${statSync(out).size < 3e6 && median(times) < 2000 ? 'met' : 'MISSED'}` : ''}`);
  }
} finally {
  await browser.close();
}
