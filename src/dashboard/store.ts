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

  refresh(): void {
    try {
      this.board = this.load();
      this.error = null;
    } catch (err) {
      this.error = (err as Error).message;
    }
    for (const l of this.listeners) l();
  }

  /** Polls every `ms` until stopped; the timer does not keep the process alive. */
  start(ms: number): void {
    this.stop();
    this.timer = setInterval(() => this.refresh(), ms);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
