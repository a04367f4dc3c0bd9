/** sweep validate, plan and schema through the real CLI. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, ROOT } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';

describe('sweep validate', () => {
  it('lists every problem of every file and exits 2; good files get one ok line', async () => {
    const bad = writeExperiment('name: bad\nmodel: { pooling: maxx, dropout: 2 }\n');
    const worse = writeExperiment('name: [\n');
    const r = await cli('validate', 'experiments/pooling.yaml', bad, worse);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('experiments/pooling.yaml: ok, 2 trials\n');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(`${bad}:2:19: model.pooling: expected one of avg, max, found 'maxx' (did you mean 'max'?)`);
    expect(lines[1]).toBe(`${bad}:2:34: model.dropout: must be < 1, found 2`);
    expect(lines[2].startsWith(`${worse}:`)).toBe(true);
  });

  it('refuses grids over 10,000 trials unless --yes', async () => {
    const seeds = Array.from({ length: 101 }, (_, i) => i).join(', ');
    const big = writeExperiment(`name: big\nsweep:\n  parameters:\n    training.seed: [${seeds}]\n    training.batch_size: [${seeds.replace(/\b0\b/, '128')}]\n`);
    const r = await cli('validate', big);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${big}:4:5: sweep.parameters: the grid makes 10,201 trials, more than 10,000; pass --yes to run it anyway\n`);
    const ok = await cli('validate', big, '--yes');
    expect(ok.stdout).toBe(`${big}: ok, 10201 trials\n`);
  });
});

describe('sweep plan', () => {
  it('lists the trials with their swept values; estimates once the database has measured runs', async () => {
    const db = join(tempDir(), 'runs.db');
    const before = await cli('plan', 'experiments/smoke.yaml', '--db', db);
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/#\s+trial\s+model\.pooling\s+epochs\s+backend\s+estimate/);
    expect(before.stdout).toMatch(/no estimate yet/);
    const json = JSON.parse((await cli('plan', 'experiments/smoke.yaml', '--json', '--grid', 'training.seed=1,2,3')).stdout);
    expect(json).toHaveLength(6);
    expect(json[0]).toMatchObject({ params: { 'model.pooling': 'avg', 'training.seed': 1 }, epochs: 1, backend: 'wasm', seconds: null });
    // Two epochs, so that one after the warm-up is measured.
    await cli('experiments/smoke.yaml', '--db', db, '--set', 'training.epochs=2');
    const after = await cli('plan', 'experiments/smoke.yaml', '--db', db, '--json');
    for (const trial of JSON.parse(after.stdout)) expect(trial.seconds).toBeGreaterThan(0);
  });
});

describe('sweep schema', () => {
  it('prints the JSON Schema', async () => {
    const r = await cli('schema');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(readFileSync(join(ROOT, 'schemas/experiment.schema.json'), 'utf8')));
  });
});
