/**
 * The command line's own surface, through the real CLI: help for every command (from the
 * command table, so it cannot miss one), options given twice refused, the README's command
 * list kept equal to the table, and the shell completion run in a real bash.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, type CommandSpec } from '../src/cli/commands.js';
import { CLI, cli, ROOT } from './cli-helpers.js';
import { tempDir } from './helpers.js';
import { writeRuns } from './runs-fixture.js';

const words = (spec: CommandSpec) => (spec.name ? spec.name.split(' ') : ['run']);

describe('help on every command', () => {
  it('sweep COMMAND --help: usage, every option with its default, examples; exit 0 and nothing else done', async () => {
    for (const spec of COMMANDS) {
      const r = await cli(...words(spec), '--help');
      expect([spec.name, r.code, r.stderr]).toEqual([spec.name, 0, '']);
      expect(r.stdout.split('\n')[0]).toBe(`usage: sweep${spec.name ? ` ${spec.name}` : ''}${spec.args ? ` ${spec.args}` : ''}${Object.keys(spec.options).length ? ' [options]' : ''}`);
      for (const [name, option] of Object.entries(spec.options)) {
        expect(r.stdout, `${spec.name} --${name}`).toMatch(new RegExp(`^  --${name}\\b`, 'm'));
        if (typeof option.default === 'string') expect(r.stdout).toContain(`(default: ${option.default})`);
      }
      expect(r.stdout).toMatch(/^  -h, --help +this text$/m);
      expect(r.stdout).toContain(`\nexample`);
      for (const example of spec.examples) expect(r.stdout).toContain(`  ${example}\n`);
    }
  });

  it('-h and sweep help COMMAND say the same; help wins over other mistakes; schema --help is help, not the schema', async () => {
    const long = await cli('export', '--help');
    expect(await cli('export', '-h')).toEqual(long);
    expect(await cli('help', 'export')).toEqual(long);
    expect((await cli('export', 'best', '--bogus', '--help')).stdout).toBe(long.stdout);
    const schema = await cli('schema', '--help');
    expect([schema.code, schema.stdout.split('\n')[0]]).toEqual([0, 'usage: sweep schema']);
    // A sweep's help needs no file, and runs nothing.
    const db = join(tempDir(), 'runs.db');
    const run = await cli('experiments/smoke.yaml', '--db', db, '--help');
    expect([run.code, run.stdout.split('\n')[0], existsSync(db)]).toEqual([0, 'usage: sweep FILE [options]', false]);
    expect((await cli('run', '-h')).stdout).toBe(run.stdout);
  });

  it('groups and the overview list their commands; an unknown one is one line, exit 2', async () => {
    const runs = await cli('runs', '--help');
    expect(runs.code).toBe(0);
    for (const sub of ['list', 'show', 'best', 'compare', 'sql']) expect(runs.stdout).toMatch(new RegExp(`^  sweep runs ${sub}\\b`, 'm'));
    expect((await cli('help', 'runs')).stdout).toBe(runs.stdout);
    const overview = await cli('--help');
    expect(overview.code).toBe(0);
    for (const spec of COMMANDS) expect(overview.stdout).toContain(`  sweep${spec.name ? ` ${spec.name}` : ' FILE'}`);
    const none = await cli();
    expect([none.code, none.stderr]).toEqual([2, `${overview.stdout}`]);
    const unknown = await cli('help', 'exprot');
    expect([unknown.code, unknown.stderr]).toEqual([2, "sweep help: no command 'exprot' (did you mean 'export'?); sweep --help lists them\n"]);
    // An option's mistake points at that command's help.
    expect((await cli('export', '--formt', 'onnx')).stderr).toBe("sweep export: Unknown option '--formt' (did you mean '--format'?); see sweep export --help\n");
  });
});

describe('an option given twice', () => {
  it('is refused when it takes one value (which one was meant cannot be known); options that add values still repeat', async () => {
    const db = join(tempDir(), 'runs.db');
    const cases: [string[], string][] = [
      [['export', 'best', '--epoch', 'best', '--epoch', 'last', '--format', 'onnx', '--out', 'm.onnx'], "--epoch: given twice ('best', then 'last'); give it once"],
      [['experiments/smoke.yaml', '--workers', '2', '--workers', '1', '--db', db], "--workers: given twice ('2', then '1'); give it once"],
      [['experiments/smoke.yaml', '--db', db, '--db=other.db'], `--db: given twice ('${db}', then 'other.db'); give it once`],
      [['runs', 'sql', 'SELECT 1', '--timeout', '1', '--timeout', '2'], "--timeout: given twice ('1', then '2'); give it once"],
      [['agent', '--queue', 'redis://localhost:1', '--queue', 'redis://localhost:2'], "--queue: given twice ('redis://localhost:1', then 'redis://localhost:2'); give it once"],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect([args.join(' '), r.code, r.stderr]).toEqual([args.join(' '), 2, `${message}\n`]);
    }
    expect(existsSync(db)).toBe(false);
    const plan = await cli('plan', 'experiments/smoke.yaml', '--set', 'training.epochs=2', '--set', 'training.seed=3', '--json');
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout)[0].epochs).toBe(2);
  });
});

describe('numbers on the command line', () => {
  it('counts are whole numbers written in digits (Number() took 0x10, 1e3, " 2" and +2, and twenty digits as 1e20); --timeout says its range', async () => {
    const db = join(tempDir(), 'runs.db');
    for (const value of ['0x10', '1e3', ' 2', '+2', '1.5', '0']) {
      const r = await cli('experiments/smoke.yaml', '--db', db, '--workers', value);
      expect([value, r.code, r.stderr]).toEqual([value, 2, `--workers: expected a positive integer, found '${value}'\n`]);
    }
    expect((await cli('experiments/smoke.yaml', '--db', db, '--workers', '99999999999999999999')).stderr).toBe('--workers: 99999999999999999999 is too large\n');
    for (const value of ['0', '-1', 'abc', '1e9', '99999999999']) {
      const r = await cli('runs', 'sql', 'SELECT 1', '--db', db, `--timeout=${value}`);
      expect([value, r.code, r.stderr]).toEqual([value, 2, `--timeout: expected a number of seconds above 0 and at most 2147483 (24 days), found '${value}'\n`]);
    }
    expect(existsSync(db)).toBe(false);
    // sweep help help, sweep help --help: the overview.
    expect((await cli('help', 'help')).stdout).toBe((await cli('--help')).stdout);
  });
});

describe('the README', () => {
  it('lists every command under "Commands" with exactly the options it takes', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /## Commands\n\n```\n([\s\S]*?)```/.exec(readme)![1].trim().split('\n');
    for (const spec of COMMANDS) {
      const line = block.find((l) => l.startsWith(`sweep${spec.name ? ` ${spec.name} ` : ' FILE '}`) || l === `sweep ${spec.name}`);
      expect(line, `README's line for sweep ${spec.name || 'FILE'}`).toBeDefined();
      const shown = [...line!.matchAll(/--([a-z][\w-]*)/g)].map((m) => m[1]);
      expect(new Set(shown), `options of sweep ${spec.name || 'FILE'} in the README`).toEqual(new Set(Object.keys(spec.options)));
    }
  });
});

describe('sweep completion', () => {
  /** What the completion script offers for a command line, the last word being completed, in a real bash. */
  function complete(shellWords: string[]): string[] {
    const script = `source <("${process.execPath}" "${CLI}" completion bash)
COMP_WORDS=(${shellWords.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${shellWords.length - 1}; _sweep_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return [...new Set(r.stdout.split('\n').filter(Boolean))].sort();
  }

  it('completes commands, subcommands, options and their choices in bash', () => {
    // The command, and the repository's runs/ folder.
    expect(complete(['sweep', 'ru'])).toEqual(['runs']);
    expect(complete(['sweep', 'runs', 's'])).toEqual(['show', 'sql']);
    expect(complete(['sweep', 'export', 'best', '--fo'])).toEqual(['--force', '--format']);
    expect(complete(['sweep', 'export', 'best', '--format', 'onnx'])).toEqual(['onnx', 'onnx-int8']);
    expect(complete(['sweep', 'experiments/smoke.yaml', '--keep', ''])).toEqual(['all', 'best', 'last']);
    expect(complete(['sweep', 'runs', 'sql', '--t'])).toEqual(['--timeout']);
    expect(complete(['sweep', 'experiments/po'])).toEqual(['experiments/pooling-seeds.yaml', 'experiments/pooling.yaml']);
    expect(complete(['sweep', 'completion', ''])).toEqual(['bash', 'zsh']);
  });

  it('refuses a shell it does not know', async () => {
    const r = await cli('completion', 'fsh');
    expect([r.code, r.stderr]).toEqual([2, "sweep completion: expected the shell, one of bash, zsh, found 'fsh' (did you mean 'zsh'?)\n"]);
  });
});

describe('bin/sweep, the command from a clone', () => {
  const BIN = join(ROOT, 'bin', 'sweep');
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

  it('runs the CLI, through a link on the PATH too, and says what to do where dist/ is not built', () => {
    expect(spawnSync(BIN, ['--version'], { encoding: 'utf8' }).stdout).toBe(`${version}\n`);
    const dir = tempDir();
    symlinkSync(BIN, join(dir, 'sweep'));
    expect(spawnSync(join(dir, 'sweep'), ['--version'], { encoding: 'utf8' }).stdout).toBe(`${version}\n`);
    // A copy in a clone that was never built.
    mkdirSync(join(dir, 'clone', 'bin'), { recursive: true });
    copyFileSync(BIN, join(dir, 'clone', 'bin', 'sweep'));
    const unbuilt = spawnSync(join(dir, 'clone', 'bin', 'sweep'), ['--version'], { encoding: 'utf8' });
    expect([unbuilt.status, unbuilt.stderr]).toEqual([1, `sweep: ${join(dir, 'clone', 'bin')}/../dist/cli/main.js is not built; run npm install (or npm run build) in ${join(dir, 'clone')}\n`]);
  });

  it('passes SIGTERM to the command (node takes its place), which ends with the signal\'s code', async () => {
    const { db } = writeRuns('name: tiny\n', () => ({ status: 'completed', valAcc: [0.5], testAcc: 0.5 }));
    const child = spawn(BIN, ['runs', 'sql', 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c', '--db', db], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).toBe(143);
  });
});
