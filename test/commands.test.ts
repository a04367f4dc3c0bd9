/** sweep validate, plan and schema through the real CLI. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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

  it('hostile files: an alias bomb, an oversized or endless file, a huge list or grid; one line each, exit 2, the other files still checked', async () => {
    const dir = tempDir();
    const laughs = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (const [x, y] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f']]) laughs.push(`${y}: &${y} [${Array(9).fill(`*${x}`).join(', ')}]`);
    const bomb = join(dir, 'bomb.yaml');
    writeFileSync(bomb, `name: bomb\n${laughs.join('\n')}\n`);
    const oversized = join(dir, 'oversized.yaml');
    writeFileSync(oversized, `name: oversized\nsweep: { parameters: { training.seed: [${Array.from({ length: 300_000 }, (_, i) => i).join(', ')}] } }\n`);
    const list = join(dir, 'list.yaml');
    writeFileSync(list, `name: list\nsweep: { method: random, count: 2, parameters: { training.seed: [${Array.from({ length: 10_001 }, (_, i) => i).join(', ')}] } }\n`);
    const values = Array.from({ length: 100 }, (_, i) => i + 1).join(', ');
    const grid = join(dir, 'grid.yaml');
    writeFileSync(grid, `name: grid\nsweep:\n  parameters:\n    training.seed: [${values}]\n    training.batch_size: [${values}]\n    training.epochs: [${values}]\n`);
    // Not hostile, but silently ignored before: a swept extends.
    const extended = join(dir, 'extends.yaml');
    writeFileSync(extended, 'name: extends\nsweep: { parameters: { extends: [../experiments/base/lenet5.yaml] } }\n');
    const r = await cli('validate', bomb, oversized, '/dev/zero', list, grid, extended, 'experiments/pooling.yaml', '--yes');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('experiments/pooling.yaml: ok, 2 trials\n');
    expect(r.stderr.trim().split('\n')).toEqual([
      `${bomb}: its aliases (*name) expand to too many values (a "billion laughs" file); write the values out`,
      `${oversized}: is larger than 1 MB; an experiment file is a few kilobytes (give long value lists as a distribution with method: random)`,
      '/dev/zero: is a device, not a regular file; give an experiment file (YAML)',
      `${list}:2:65: sweep.parameters.training.seed: lists 10,001 values, more than 10,000; give a range as a distribution (with method: random) instead`,
      `${grid}:4:5: sweep.parameters: the grid makes 1,000,000 trials, more than one sweep holds (200,000); split the search into several files`,
      `${extended}:2:24: sweep.parameters: 'extends' cannot be swept (files are merged before the sweep expands; sweep the settings the files differ in, or run one file per base)`,
    ]);
    // The same refusals before a sweep opens its database.
    const db = join(dir, 'runs.db');
    const sweep = await cli(bomb, '--db', db);
    expect([sweep.code, sweep.stderr]).toEqual([2, `${bomb}: its aliases (*name) expand to too many values (a "billion laughs" file); write the values out\n`]);
    expect(existsSync(db)).toBe(false);
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

describe('merge keys (<<: *anchor) through the CLI', () => {
  it('validate and plan take them, --set applies on top; a wrong merged value is placed in its anchor', async () => {
    const merged = writeExperiment(`name: merged
x-short: &short { epochs: 2, batch_size: 32 }
x-space: &space
  model.pooling: [avg, max]
  training.seed: [1, 2]
training: { <<: *short }
sweep:
  parameters:
    <<: *space
    training.seed: [3]
`);
    const validated = await cli('validate', merged);
    expect([validated.code, validated.stdout, validated.stderr]).toEqual([0, `${merged}: ok, 2 trials\n`, '']);
    const plan = await cli('plan', merged, '--set', 'training.epochs=1', '--db', join(tempDir(), 'none.db'));
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^1 +\w{12} +avg +3 +1 +wasm/m);
    expect(plan.stdout).toMatch(/^2 +\w{12} +max +3 +1 +wasm/m);
    const wrong = writeExperiment('name: wrong\nx-short: &short { epochs: 2, batch_size: 0 }\ntraining: { <<: *short }\n');
    const refused = await cli('plan', wrong);
    expect([refused.code, refused.stdout, refused.stderr]).toEqual([2, '', `${wrong}:2:42: training.batch_size: must be >= 1, found 0\n`]);
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
