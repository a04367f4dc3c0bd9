/**
 * What a key press does to the dashboard's view state: a pure function of the state before it,
 * so that keys typed faster than frames are drawn each act on the state the previous one left
 * (React state read in an input handler can be a frame old). Side effects on the sweep are
 * returned, not performed.
 */
import type { Key } from 'ink';
import type { Board, BoardTrial } from './board.js';
import { groupMembers, groupTrials, hasRepeats, SORTS, sortTrials } from './derive.js';

export interface ViewState {
  /** The selected trial; null: the first row. */
  selectedId: string | null;
  detail: boolean;
  sortIndex: number;
  grouped: boolean;
  /** The selected configuration in the grouped view (Group.key); null: the first. */
  groupKey: string | null;
  /** Grouped: showing the selected configuration's seeds as trials instead of the groups. */
  inGroup: boolean;
  /** q was pressed in a running sweep: the next key answers "stop?". */
  confirming: boolean;
  stopping: boolean;
  notice: string | null;
}

export const INITIAL_VIEW: ViewState = { selectedId: null, detail: false, sortIndex: 0, grouped: false, groupKey: null, inGroup: false, confirming: false, stopping: false, notice: null };

/**
 * What the view state shows of a snapshot: the trial list (all trials, or one configuration's
 * seeds), the groups, or one trial in detail; and which trials and which one is selected. A
 * selected trial or configuration that the snapshot no longer has falls back to the first.
 */
export interface Screen {
  showing: 'trials' | 'groups' | 'members' | 'detail';
  trials: BoardTrial[];
  selected: BoardTrial | undefined;
}

export function screenOf(s: ViewState, board: Board): Screen {
  const grouped = s.grouped && hasRepeats(board);
  const sort = SORTS[s.sortIndex];
  const members = grouped && s.inGroup ? groupMembers(board, sort, s.groupKey) : null;
  const trials = members ?? sortTrials(board, sort);
  const selected = trials.find((t) => t.id === s.selectedId) ?? trials[0];
  const showing = s.detail && selected ? 'detail' : !grouped ? 'trials' : members ? 'members' : 'groups';
  return { showing, trials, selected };
}

/** stop: q confirmed; interrupt: Ctrl-C (stop, or abort when already stopping); quit: leave the viewer. */
export type Effect = 'stop' | 'interrupt' | 'quit' | null;

export function pressKey(s: ViewState, input: string, key: Key, board: Board, mode: 'run' | 'attach'): { view: ViewState; effect: Effect } {
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
  if (input === 'g') {
    return hasRepeats(board)
      ? { view: { ...t, grouped: !s.grouped, inGroup: false }, effect: null }
      : { view: { ...t, notice: 'nothing to group: no configuration is repeated over seeds (sweep.repeats)' }, effect: null };
  }
  const { showing, trials, selected } = screenOf(s, board);
  if (showing === 'members' && (key.escape || key.backspace || key.leftArrow)) return { view: { ...t, inGroup: false }, effect: null };
  if (showing === 'groups') {
    // ↑/↓ select a configuration, Enter shows its seeds; groups have their own order, so s does nothing.
    const groups = groupTrials(board);
    const i = Math.max(0, groups.findIndex((g) => g.key === s.groupKey));
    if (key.upArrow || key.downArrow) {
      const next = groups[Math.min(groups.length - 1, Math.max(0, i + (key.upArrow ? -1 : 1)))];
      return { view: { ...t, groupKey: next?.key ?? s.groupKey }, effect: null };
    }
    if (key.return && groups[i]) return { view: { ...t, inGroup: true, groupKey: groups[i].key, selectedId: null }, effect: null };
    return { view: t, effect: null };
  }
  if (key.upArrow || key.downArrow) {
    const i = Math.max(0, trials.findIndex((x) => x.id === selected?.id));
    const next = trials[Math.min(trials.length - 1, Math.max(0, i + (key.upArrow ? -1 : 1)))];
    return { view: { ...t, selectedId: next?.id ?? s.selectedId }, effect: null };
  }
  if (key.return) return { view: { ...t, detail: selected !== undefined, selectedId: selected?.id ?? null }, effect: null };
  if (input === 's') return { view: { ...t, sortIndex: (s.sortIndex + 1) % SORTS.length }, effect: null };
  return { view: t, effect: null };
}
