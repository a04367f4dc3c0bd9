import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

/** One dataset cache for the whole test run: converting the embedded digits takes a second. */
export const CACHE = process.env.LENET_SWEEP_TEST_CACHE ?? join(tempDir('lenet-sweep-cache-'));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts the real CLI as a child process; `onStdout` sees output as it arrives; `env` adds to the
 * environment; it runs in `cwd`; with `onStart`, in a process group of its own, as a terminal's
 * foreground job is (onStart gets the child at once, and may signal the whole group).
 */
export function startCli(
  args: string[],
  onStdout?: (text: string, child: ChildProcess) => void,
  env: Record<string, string> = {},
  { cwd = ROOT, onStart }: { cwd?: string; onStart?: (child: ChildProcess) => void } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    detached: onStart !== undefined,
    env: { ...process.env, LENET_SWEEP_CACHE: CACHE, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    onStdout?.(stdout, child);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  onStart?.(child);
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

export const cli = (...args: string[]) => startCli(args);
