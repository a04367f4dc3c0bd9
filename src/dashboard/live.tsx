/**
 * Mounting the dashboard on the terminal: a read-only connection to the database, a store that
 * polls it, and Ink drawing at most MAX_FPS frames a second. Used by `sweep FILE` (mode 'run')
 * and by `sweep dashboard` (mode 'attach').
 */
import { render } from 'ink';
import { closeOnExit, openForReading } from '../store/open.js';
import { BoardLoader } from './board.js';
import { Dashboard, type DashboardProps } from './Dashboard.js';
import { BoardStore } from './store.js';

/** The ceiling on redraws; Ink coalesces updates between frames. */
const MAX_FPS = 10;
/**
 * How often the database is read (and so, apart from key presses, how often a frame is drawn).
 * Ink spends ~10 ms of the main thread per frame of a 10-trial board, on a machine whose cores
 * are all training: once a second keeps the dashboard's cost to training near 1% (see
 * bench/dashboard.mjs), and progress bars still move smoothly enough for epochs of seconds.
 */
export const POLL_MS = 1000;

export interface LiveOptions extends Pick<DashboardProps, 'mode' | 'onStop' | 'onInterrupt' | 'onQuit'> {
  dbPath: string;
  sweep: string;
}

export interface LiveDashboard {
  /** Reads the database a last time, draws the final leaderboard, and releases the terminal. */
  finish(): Promise<void>;
  /** Settles when the dashboard is unmounted (by finish, or by q in attach mode). */
  closed: Promise<void>;
}

export function startDashboard(options: LiveOptions): LiveDashboard {
  const db = openForReading(options.dbPath);
  const keep = closeOnExit(db);
  const loader = new BoardLoader(db, options.sweep);
  const store = new BoardStore(() => loader.load());
  const element = (ended: boolean) => (
    <Dashboard store={store} mode={options.mode} ended={ended} onStop={options.onStop} onInterrupt={options.onInterrupt} onQuit={() => (options.onQuit ? options.onQuit() : instance.unmount())} />
  );
  const instance = render(element(false), { exitOnCtrlC: false, maxFps: MAX_FPS });
  store.start(POLL_MS);
  const closed = instance.waitUntilExit().then(
    () => undefined,
    () => undefined,
  ).finally(() => {
    store.stop();
    keep();
    db.close();
  });
  // Both the end of the sweep and a second Ctrl-C (abort) finish the dashboard: once is enough.
  let finished: Promise<void> | undefined;
  return {
    closed,
    finish() {
      finished ??= (async () => {
        store.stop();
        store.refresh();
        instance.rerender(element(true));
        instance.unmount();
        await closed;
      })();
      return finished;
    },
  };
}
