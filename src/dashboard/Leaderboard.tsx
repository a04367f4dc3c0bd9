/**
 * The leaderboard: one line per trial, ranked by the sweep's metric (or another sort), with
 * the settings that tell trials apart, a progress bar, the agent that trains it (in a sweep
 * across machines) and a sparkline of the metric per epoch.
 */
import { Text } from 'ink';
import { metricValue, pct, rate } from '../view/format.js';
import { settingText } from '../config/load.js';
import { progressBar, sparkline } from '../view/charts.js';
import type { Board, BoardTrial } from './board.js';
import { cells, fitColumns, headerLine, SEPARATOR, type Column, windowAround } from './columns.js';
import { paramKeys, progressOf } from './derive.js';
import { maxOf } from '../util/extremes.js';

export const STATUS_COLOR: Record<string, string> = {
  queued: 'gray',
  running: 'cyan',
  completed: 'green',
  failed: 'red',
  diverged: 'red',
  interrupted: 'yellow',
  pruned: 'magenta',
};

/** Short column names for parameters: the last part of the path unless two parameters share it. */
export function paramHeaders(keys: string[]): Map<string, string> {
  const last = (k: string) => k.split('.').at(-1)!;
  return new Map(keys.map((k) => [k, keys.filter((o) => last(o) === last(k)).length > 1 ? k : last(k)]));
}

const BAR = 10;

export function trialColumns(board: Board, keys = paramKeys(board, false)): Column<BoardTrial>[] {
  const headers = paramHeaders(keys);
  const planned = Math.max(1, maxOf(board.trials.map((t) => t.epochs_planned)));
  const epochText = (t: BoardTrial) => `${String(t.epochs).padStart(String(t.epochs_planned).length)}/${t.epochs_planned}`;
  const epochWidth = 2 * String(planned).length + 1;
  return [
    { header: '#', width: 3, priority: 100, align: 'right', cell: (t) => (t.rank === null ? '' : String(t.rank)) },
    { header: 'trial', width: 8, priority: 90, cell: (t) => t.id.slice(0, 8) },
    ...keys.map((k, i): Column<BoardTrial> => ({
      header: headers.get(k)!,
      width: Math.min(12, Math.max(0, maxOf(board.trials.map((t) => settingText(t.config, k).length)))),
      priority: 70 - i,
      cell: (t) => settingText(t.config, k),
    })),
    { header: `best ${board.sweep.metric}`, width: 7, priority: 95, align: 'right', cell: (t) => (t.best_value === null ? '' : metricValue(board.sweep.metric, t.best_value)) },
    { header: 'test', width: 6, priority: 50, align: 'right', cell: (t) => (t.test_acc === null ? '' : pct(t.test_acc)) },
    { header: 'epochs', width: epochWidth + 1 + BAR, priority: 80, cell: (t) => `${epochText(t)} ${progressBar(progressOf(t), BAR)}` },
    { header: 'status', width: 11, priority: 85, cell: (t) => t.status },
    // A sweep across machines: which agent trains each trial (none on the sweep's own machine).
    // Only then: a sweep on one machine looks as it always did.
    ...(board.trials.some((t) => t.agent !== null)
      ? [{ header: 'agent', width: Math.min(12, maxOf(board.trials.map((t) => t.agent?.length ?? 0))), priority: 45, cell: (t: BoardTrial) => t.agent ?? '' }]
      : []),
    { header: 'img/s', width: 5, priority: 40, align: 'right', cell: (t) => (t.images_per_s === null ? '' : rate(t.images_per_s)) },
    {
      header: board.sweep.metric,
      width: Math.min(12, planned),
      priority: 30,
      cell: (t) => sparkline(t.history.map((e) => e[board.sweep.metric as 'val_acc'] ?? null), Math.min(12, planned)),
    },
  ];
}

export interface LeaderboardProps {
  board: Board;
  trials: BoardTrial[];
  selectedId: string | null;
  width: number;
  /** Lines available for trial rows; a window around the selection is shown when there are more. */
  rows: number;
}

export function Leaderboard({ board, trials, selectedId, width, rows }: LeaderboardProps) {
  const columns = fitColumns(trialColumns(board), width);
  const statusIndex = columns.findIndex((c) => c.header === 'status');
  const selected = Math.max(0, trials.findIndex((t) => t.id === selectedId));
  const { shown, hidden } = windowAround(trials, selected, rows);
  return (
    <>
      <Text bold>{headerLine(columns)}</Text>
      {shown.map((t) => {
        // One string before and one after the coloured status: few nodes keep each frame cheap.
        const parts = cells(columns, t);
        const before = parts.slice(0, statusIndex < 0 ? parts.length : statusIndex).join(SEPARATOR);
        const after = statusIndex < 0 ? '' : parts.slice(statusIndex + 1).join(SEPARATOR);
        return (
          <Text key={t.id} inverse={t.id === selectedId}>
            {before}
            {statusIndex >= 0 && (
              <Text color={STATUS_COLOR[t.status]}>
                {statusIndex > 0 ? SEPARATOR : ''}
                {parts[statusIndex]}
              </Text>
            )}
            {after ? SEPARATOR + after : ''}
          </Text>
        );
      })}
      {hidden > 0 && <Text dimColor>{`… ${hidden} more (↑/↓ to scroll)`}</Text>}
    </>
  );
}
