/**
 * The grouped view: trials that repeat one configuration over seeds, as mean ± standard
 * deviation of the best metric and of test accuracy, and whether each configuration differs
 * from the leading one beyond seed noise (Welch's t-test, Holm-adjusted, at ALPHA).
 */
import { Text } from 'ink';
import type { Board } from './board.js';
import { cells, fit, fitColumns, headerLine, type Column, windowAround } from './columns.js';
import { ALPHA, groupTrials, meanSd, paramKeys, versusLeader, type Group } from './derive.js';
import { paramHeaders } from './Leaderboard.js';
import { maxOf } from '../util/extremes.js';

export function groupColumns(board: Board, groups: Group[]): Column<Group & { rank: number }>[] {
  const keys = paramKeys(board, true);
  const headers = paramHeaders(keys);
  const metric = board.sweep.metric;
  return [
    { header: '#', width: 3, priority: 100, align: 'right', cell: (g) => String(g.rank) },
    ...keys.map((k, i): Column<Group & { rank: number }> => ({
      header: headers.get(k)!,
      width: Math.min(12, Math.max(0, maxOf(groups.map((g) => (g.params[k] ?? '').length)))),
      priority: 70 - i,
      cell: (g) => g.params[k] ?? '',
    })),
    { header: 'seeds', width: maxOf(groups.map((g) => `${g.metric.n}/${g.trials.length}`.length)), priority: 60, align: 'right', cell: (g) => `${g.metric.n}/${g.trials.length}` },
    { header: `${metric} mean ± sd`, width: 16, priority: 95, align: 'right', cell: (g) => meanSd(metric, g.metric) },
    { header: 'test mean ± sd', width: 16, priority: 50, align: 'right', cell: (g) => meanSd('test_acc', g.test) },
    { header: 'vs leader', width: 16, priority: 90, cell: versusLeader },
  ];
}

/**
 * The groups, best first; as many as fit in `rows` lines (with the header and the note), around
 * the selected one (`selectedKey`; null or gone: the first), highlighted unless `highlight` is off.
 */
export function Groups({ board, selectedKey, highlight, width, rows }: { board: Board; selectedKey: string | null; highlight: boolean; width: number; rows: number }) {
  const groups = groupTrials(board).map((g, i) => ({ ...g, rank: i + 1 }));
  const columns = fitColumns(groupColumns(board, groups), width);
  // Lines: the header, the groups that fit, a "more" line when some do not, and the note if there is room.
  const withNote = rows >= 4;
  const space = Math.max(1, rows - 1 - (withNote ? 1 : 0));
  const selected = Math.max(0, groups.findIndex((g) => g.key === selectedKey));
  const { shown, hidden } = windowAround(groups, selected, space);
  const note =
    `seeds: completed / all. Welch's t-test of each configuration's best ${board.sweep.metric} against the leader's, ` +
    `over completed seeds, p adjusted (Holm) for testing every configuration; n.s. = not significant at ${ALPHA}`;
  return (
    <>
      <Text bold>{headerLine(columns)}</Text>
      {shown.map((g) => (
        <Text key={g.key} color={g.leader ? 'green' : undefined} inverse={highlight && g === groups[selected]}>
          {cells(columns, g).join(' ')}
        </Text>
      ))}
      {hidden > 0 && <Text dimColor>{`… ${hidden} more configurations (↑/↓ to scroll)`}</Text>}
      {withNote && <Text dimColor>{fit(note, width).trimEnd()}</Text>}
    </>
  );
}
