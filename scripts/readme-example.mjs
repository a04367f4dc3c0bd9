#!/usr/bin/env node
// Runs the README's first sweep as a new user does (`./bin/sweep experiments/pooling.yaml` in a
// fresh folder, its output to a pipe) and writes what it printed into the README's example
// block: the start, each trial's first epoch, "…", each trial's result and the leaderboard.
// Usage: npm run readme:example (a minute or two on 2 cores). test/readme.test.ts runs the same
// command to the first epochs on every test run and fails when those lines drift.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const readmePath = join(root, 'README.md');
const COMMAND = './bin/sweep experiments/pooling.yaml';

const readme = readFileSync(readmePath, 'utf8');
if (!readme.includes(`\n${COMMAND}\n`)) throw new Error(`README.md no longer shows \`${COMMAND}\`; update this script`);

// A folder of its own, as a clone's: the database lands in runs/runs.db beside the command.
const dir = mkdtempSync(join(tmpdir(), 'lenet-sweep-readme-'));
for (const name of ['bin', 'experiments']) symlinkSync(join(root, name), join(dir, name));
const run = spawnSync('sh', ['-c', COMMAND], { cwd: dir, encoding: 'utf8' });
if (run.status !== 0) throw new Error(`${COMMAND} failed (${run.status}):\n${run.stdout}${run.stderr}`);

const lines = run.stdout.trimEnd().split('\n');
const board = lines.findIndex((l) => l.startsWith('leaderboard'));
const shown = [
  lines[0],
  ...lines.filter((l) => / started on /.test(l)),
  ...lines.filter((l) => / epoch +1\//.test(l)),
  '…',
  ...lines.filter((l) => /\] completed: /.test(l)),
  '',
  ...lines.slice(board),
];
const block = /(## Set-up and first sweep\n\n```sh\n[\s\S]*?```\n[\s\S]*?```\n)([\s\S]*?)(```)/;
if (!block.test(readme)) throw new Error("README.md: the first sweep's output block was not found");
writeFileSync(readmePath, readme.replace(block, (_, before, _old, after) => `${before}${shown.join('\n')}\n${after}`));
console.log(shown.join('\n'));
