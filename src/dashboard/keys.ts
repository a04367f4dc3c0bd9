/**
 * What a key press does to the dashboard's view state: a pure function of the state before it,
 * so that keys typed faster than frames are drawn each act on the state the previous one left
 * (React state read in an input handler can be a frame old). Side effects on the sweep are
 * returned, not performed.
 */
import type { Key } from 'ink';
import type { Board } from './board.js';
import { hasRepeats, SORTS, sortTrials } from './derive.js';

export interface ViewState {
  /** The selected trial; null: the first row. */
  selectedId: string | null;
  detail: boolean;
  sortIndex: number;
  grouped: boolean;
  /** q was pressed in a running sweep: the next key answers "stop?". */
  confirming: boolean;
  stopping: boolean;
  notice: string | null;
}

export const INITIAL_VIEW: ViewState = { selectedId: null, detail: false, sortIndex: 0, grouped: false, confirming: false, stopping: false, notice: null };

/** stop: q confirmed; interrupt: Ctrl-C (stop, or abort when already stopping); quit: leave the viewer. */
export type Effect = 'stop' | 'interrupt' | 'quit' | null;

export function pressKey(s: ViewState, input: string, key: Key, board: Board, mode: 'run' | 'attach'): { view: ViewState; effect: Effect } {
  const same = { view: s, effect: null };
  if (key.ctrl && input === 'c') {
    return mode === 'attach' ? { view: s, effect: 'quit' } : { view: { ...s, confirming: false, stopping: true }, effect: 'interrupt' };
  }
  if (s.confirming) {
    const yes = input === 'y' || input === 'Y';
    return { view: { ...s, confirming: false, stopping: s.stopping || yes }, effect: yes ? 'stop' : null };
  }
  const t = { ...s, notice: null };
  if (input === 'q') {
    if (mode === 'attach') return { view: t, effect: 'quit' };
    return { view: { ...t, confirming: board.sweep.status === 'running' && !s.stopping }, effect: null };
  }
  if (s.detail) return { view: { ...t, detail: !(key.return || key.escape || key.backspace || key.leftArrow) }, effect: null };
  const groups = s.grouped && hasRepeats(board);
  // Groups have no selection and their own order: trials are selected and sorted ungrouped.
  if (groups && (key.upArrow || key.downArrow || key.return || input === 's')) return same;
  const trials = sortTrials(board, SORTS[s.sortIndex]);
  if (key.upArrow || key.downArrow) {
    const i = Math.max(0, trials.findIndex((x) => x.id === s.selectedId));
    const next = trials[Math.min(trials.length - 1, Math.max(0, i + (key.upArrow ? -1 : 1)))];
    return { view: { ...t, selectedId: next?.id ?? s.selectedId }, effect: null };
  }
  if (key.return) return { view: { ...t, detail: trials.length > 0, selectedId: s.selectedId ?? trials[0]?.id ?? null }, effect: null };
  if (input === 's') return { view: { ...t, sortIndex: (s.sortIndex + 1) % SORTS.length }, effect: null };
  if (input === 'g') {
    return hasRepeats(board)
      ? { view: { ...t, grouped: !s.grouped }, effect: null }
      : { view: { ...t, notice: 'nothing to group: no configuration is repeated over seeds (sweep.repeats)' }, effect: null };
  }
  return { view: t, effect: null };
}
