import { closeSync } from 'node:fs';
import { stopOutput } from './output.js';
import { STOP_SIGNALS, type StopSignal } from '../util/signals.js';

/**
 * The ways a sweep is asked to stop from outside: Ctrl-C (SIGINT), `kill`, `timeout`, systemd,
 * docker and CI (SIGTERM), a closed terminal (SIGHUP), and a reader that went away (`| head`,
 * which main.ts reports as READER_GONE). Each is handled alike: the first asks the running
 * trials to end after their current batch (they are marked interrupted), the second stops them
 * at once. The exit code is the shell's for the first signal: 128 + its number.
 */


/**
 * The process event main.ts emits when stdout's reader has gone, with the signal it counts as:
 * SIGINT for a closed pipe (EPIPE), SIGHUP for a terminal that is gone (EIO; its SIGHUP may come
 * after the failed write).
 */
export const READER_GONE = 'lenet-sweep:reader-gone';

/** What a stop request does once a run is under way; `first` is false for the second request. */
export type StopHandler = (first: boolean, signal: StopSignal) => void;

export class StopSignals {
  /** The first stop request received, if any. */
  received: StopSignal | undefined;
  private handler: StopHandler | undefined;
  /** Until defer(): nothing is written yet, so a stop ends the process at once. */
  private deferred = false;
  /** The terminal hung up (SIGHUP, or a write that failed with EIO). */
  private hungUp = false;
  private disposed = false;
  private readonly firstRequest = new AbortController();

  constructor() {
    for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) this.listen(signal, () => this.request(signal));
    this.listen(READER_GONE, (signal: StopSignal) => this.request(signal));
  }

  private listen(event: string, listener: (signal: StopSignal) => void): void {
    process.on(event, listener);
  }

  /** Aborted by the first stop request (after the handler has had it): a sweep session's signal. */
  get requested(): AbortSignal {
    return this.firstRequest.signal;
  }

  /** The exit code for the stop received (130 for Ctrl-C), or undefined if none was. */
  get exitCode(): number | undefined {
    return this.received && STOP_SIGNALS[this.received];
  }

  /** From now on something is written that must be closed properly: stops are held for handle(). */
  defer(): void {
    this.deferred = true;
  }

  /** Hands stop requests to the run; one received while deferred is handed over at once. */
  handle(handler: StopHandler): void {
    this.handler = handler;
    if (this.received) handler(true, this.received);
  }

  /** A stop request: a signal, or Ctrl-C read as a key by the dashboard. */
  request(signal: StopSignal): void {
    this.hungUp ||= signal === 'SIGHUP';
    if (this.disposed) {
      if (this.hungUp) releaseTerminal();
      return;
    }
    const first = this.received === undefined;
    this.received ??= signal;
    if (this.handler) this.handler(first, signal);
    else if (!this.deferred) process.exit(STOP_SIGNALS[signal]);
    // After the handler: it says what the request does, before the session the signal stops hears it.
    this.firstRequest.abort();
  }

  /**
   * The sweep has settled and the database is closed: a stop request still on its way (a second
   * Ctrl-C a moment late) changes nothing, and must not end the process by Node's default
   * handling, with a signal instead of the sweep's exit code. The listeners stay, doing nothing.
   */
  dispose(): void {
    this.disposed = true;
    if (this.hungUp) releaseTerminal();
  }
}

/**
 * After a hang-up the terminal is gone, and Node 20 aborts with a native stack trace when it
 * restores the terminal's settings at exit (tcsetattr fails: nodejs/node#51519, fixed in Node
 * 24). It skips descriptors the program closed, so stdio is closed once all is said (a hung-up
 * terminal no longer even reports itself as one).
 */
export function releaseTerminal(): void {
  for (const fd of [0, 1, 2]) {
    try {
      closeSync(fd);
    } catch {
      // Already closed.
    }
  }
}

/** How long a command that only reads may take to wind down after a stop before it is ended. */
const WIND_DOWN_MS = 500;

/**
 * For the commands that only read: a stop signal stops their output (output.printLines stops
 * at its next chunk, and a pass over rows at its next row: output.paced), so the command
 * unwinds and closes its database, leaving no -wal or -shm behind, and exits with the signal's
 * code. One that does not end within WIND_DOWN_MS (the dashboard, which waits for keys) is
 * ended, its database closed on the way out (store/open.closeOnExit). A hung-up terminal is
 * released first.
 */
export function endOnStopSignals(): void {
  for (const [signal, code] of Object.entries(STOP_SIGNALS)) {
    process.on(signal, () => {
      if (signal === 'SIGHUP') releaseTerminal();
      windDown(code);
    });
  }
}

/**
 * Ends a command that only reads with `code`: its output stops at the next chunk and it closes
 * its database as it unwinds; one still running after WIND_DOWN_MS is ended.
 */
export function windDown(code: number): void {
  process.exitCode = code;
  stopOutput();
  setTimeout(() => process.exit(code), WIND_DOWN_MS).unref();
}
