/**
 * The dashboard's source of snapshots: it polls the database on a timer and tells the
 * components when a new snapshot is there (React's useSyncExternalStore contract).
 */
import type { Board } from './board.js';

export class BoardStore {
  private board: Board;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  /** The last load error (a locked or vanished database); the previous snapshot stays shown. */
  error: string | null = null;

  constructor(private readonly load: () => Board) {
    this.board = load();
  }

  get = (): Board => this.board;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Reads a new snapshot; returns how long the read took, in milliseconds. */
  refresh(): number {
    const start = performance.now();
    try {
      this.board = this.load();
      this.error = null;
    } catch (err) {
      this.error = (err as Error).message;
    }
    const took = performance.now() - start;
    for (const l of this.listeners) l();
    return took;
  }

  /**
   * Reads every `ms` until stopped, or less often for a sweep so large that a read takes more
   * than 1/LOAD_SHARE of that: reading never takes more than that share of a core away from
   * training. The timer does not keep the process alive.
   */
  start(ms: number): void {
    this.stop();
    const next = (delay: number) => {
      this.timer = setTimeout(() => next(Math.max(ms, LOAD_SHARE * this.refresh())), delay);
      this.timer.unref();
    };
    next(ms);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Reads take at most 1/20 of the time between them. */
const LOAD_SHARE = 20;
