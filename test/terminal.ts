/**
 * A real terminal for end-to-end tests: a private tmux server (its own socket, so a user's
 * tmux is untouched) running the CLI in a pane of a fixed size, read with capture-pane and
 * typed into with send-keys, as a person would.
 */
import { execFileSync } from 'node:child_process';
import { CACHE, CLI, ROOT } from './cli-helpers.js';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export class Terminal {
  private readonly socket = `lenet-sweep-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  /**
   * Starts `sweep ARGS` in a new pane; when it exits the pane prints EXIT=<code> and stays. The
   * environment is a person's shell: the CI markers of the job running the tests are removed
   * (under them Ink draws only the last frame), then `env` is added.
   */
  constructor(args: string[], size = { columns: 110, rows: 30 }, env: Record<string, string> = {}, options: { record?: string; stdin?: string } = {}) {
    const assignments = Object.entries({ LENET_SWEEP_CACHE: CACHE, ...env }).map(([k, v]) => `${k}=${quote(v)}`);
    // `stdin`: a file to read input from instead of the terminal (which then only shows the output).
    const input = options.stdin === undefined ? '' : ` <${quote(options.stdin)}`;
    const sweep = `env -u CI -u CONTINUOUS_INTEGRATION ${assignments.join(' ')} ${quote(process.execPath)} ${quote(CLI)} ${args.map(quote).join(' ')}${input}`;
    // `record`: a folder that gets the command's stderr and exit code, which outlive the
    // terminal (the shell traps the hang-up so as to write the code; a trap, unlike ignoring it, is
    // not inherited). Then the shell stays only while its terminal does (close() hangs it up):
    // trapping on, or sleeping on a terminal that is gone, it outlived every test by 10 minutes.
    const command = options.record
      ? `cd ${quote(ROOT)} && trap : HUP && ${sweep} 2>${quote(`${options.record}/stderr`)}; rc=$?; echo $rc >${quote(`${options.record}/code`)}; trap - HUP; [ -t 1 ] && sleep 600`
      : `cd ${quote(ROOT)} && ${sweep}; echo EXIT=$?; sleep 600`;
    this.tmux('new-session', '-d', '-x', String(size.columns), '-y', String(size.rows), command);
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', env: { ...process.env, TERM: 'xterm-256color', TMUX: '' } });
  }

  /** What the pane shows now, trailing blank lines dropped. */
  screen(): string {
    return this.tmux('capture-pane', '-p').replace(/\s+$/, '');
  }

  /** Keys in tmux's names ('q', 'y', 'Down', 'Enter'). */
  send(...keys: string[]): void {
    for (const k of keys) this.tmux('send-keys', k);
  }

  /** The screen once it matches, or an error showing the last screen. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > end) throw new Error(`the terminal never showed ${pattern}; it shows:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Closes the terminal as a person closing its window does: its processes get SIGHUP. */
  hangUp(): void {
    this.tmux('kill-server');
  }

  close(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // Already gone.
    }
  }
}
