/**
 * The README's first sweep, run as a new user runs it: `./bin/sweep experiments/pooling.yaml` in
 * a fresh folder, its output to a pipe. The run is stopped once every trial has printed its first
 * epoch (a tiny budget: the whole sweep takes a minute of both cores), and the lines the README
 * shows up to there must be the lines it printed, but for the timings. The README's block is
 * written by `npm run readme:example` from a whole run: a change of the arithmetic (the wasm
 * kernels', an initialiser's) moves the first epoch's numbers and fails here.
 */
import { spawn } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CACHE, ROOT } from './cli-helpers.js';
import { tempDir } from './helpers.js';

/** The timings of an epoch line, which no two runs share. */
const timeless = (line: string) => line.replace(/ +\d+ img\/s +[\d.]+s$/, '  … img/s  …s');

describe('the README', () => {
  it('shows the first sweep as the documented command prints it', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = /## Set-up and first sweep\n\n```sh\n([\s\S]*?)```\n[\s\S]*?```\n([\s\S]*?)```/.exec(readme)!;
    const command = section[1].trim().split('\n').at(-1)!;
    expect(command).toBe('./bin/sweep experiments/pooling.yaml');
    const shown = section[2].split('\n');
    const head = shown.slice(0, shown.indexOf('…'));
    // The start, and each trial's start and first epoch.
    expect(head.filter((l) => / epoch +1\/10 /.test(l))).toHaveLength(2);

    const dir = tempDir();
    for (const name of ['bin', 'experiments']) symlinkSync(join(ROOT, name), join(dir, name));
    const child = spawn('sh', ['-c', `exec ${command}`], { cwd: dir, env: { ...process.env, LENET_SWEEP_CACHE: CACHE }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    // One Ctrl-C (sent again on each later chunk, a second stopped it at once, and a third could land
    // as the process exited, after its handlers were gone: ended by the signal, not exit 130).
    let stopped = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!stopped && (out.match(/ epoch +1\/10 /g) ?? []).length === 2) {
        stopped = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect([code, err]).toEqual([130, '']);
    const printed = out.split('\n');
    // Which worker speaks first varies: each line shown must be printed, and the first is the first.
    expect(printed[0]).toBe(head[0]);
    const printedSet = new Set(printed.map(timeless));
    for (const line of head) expect(printedSet.has(timeless(line)), `README line not printed by a real run:\n${line}\nprinted:\n${out}`).toBe(true);
    // The results shown are of the same trials.
    const ids = (lines: string[]) => new Set(lines.flatMap((l) => [.../\b[0-9a-f]{12}\b/.exec(l) ?? []]));
    expect(ids(shown.slice(shown.indexOf('…')))).toEqual(ids(head));
  }, 120_000);
});
