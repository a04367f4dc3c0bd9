/**
 * The live dashboard: a title, the leaderboard (or the grouped view, or one trial in detail)
 * and the footer. Keys: ↑/↓ select, Enter detail (Enter/Esc back), s sort, g group, q stop
 * (asks for y) or quit. Everything shown comes from the store's latest database snapshot.
 */
import { Box, Text, useInput, useStdin, useStdout } from 'ink';
import { useEffect, useReducer, useRef, useState, useSyncExternalStore } from 'react';
import { goalText } from '../view/format.js';
import { settingText } from '../config/load.js';
import { fit } from './columns.js';
import { Detail } from './Detail.js';
import { agentSummaries, paramKeys, SORTS, totals } from './derive.js';
import { Footer } from './Footer.js';
import { Groups } from './Groups.js';
import { INITIAL_VIEW, pressKey, screenOf, type ViewState } from './keys.js';
import { keyPresses } from './keypress.js';
import { Leaderboard } from './Leaderboard.js';
import type { BoardStore } from './store.js';

export interface DashboardProps {
  store: BoardStore;
  /** 'run': this process runs the sweep, q stops it; 'attach': watching a database, q quits. */
  mode: 'run' | 'attach';
  /** The sweep is over: the final leaderboard is drawn and keys are off. */
  ended?: boolean;
  /** Run mode: the user confirmed q with y. */
  onStop?: () => void;
  /** Run mode: Ctrl-C (the terminal is in raw mode, so it arrives as a key, not as SIGINT). */
  onInterrupt?: () => void;
  /** Attach mode: q or Ctrl-C. */
  onQuit?: () => void;
  /** Fixed terminal size and clock, for tests. */
  columns?: number;
  rows?: number;
  now?: () => number;
}

const STOPPING = 'stopping: the running trials end after their current batch (Ctrl-C to stop at once)…';

/**
 * Lines around the trial rows: title, table header, blank line, two footer lines, and one spare
 * (a frame as tall as the terminal makes Ink clear the screen on every redraw).
 */
const CHROME_LINES = 6;

/**
 * The most lines the agents of a sweep across machines take in the footer (one each, or a last
 * one summing up the rest), and at most a third of the room of the rows they come out of.
 */
const MAX_AGENT_LINES = 6;

/** Footer lines for `agents` agents in a terminal of `rows` lines: none without agents, else at least one. */
export function agentRoom(agents: number, rows: number): number {
  return agents ? Math.min(agents, MAX_AGENT_LINES, Math.max(1, Math.floor((rows - CHROME_LINES) / 3))) : 0;
}

function useTerminalSize(fixed: { columns?: number; rows?: number }) {
  const { stdout } = useStdout();
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    stdout.on('resize', redraw);
    return () => void stdout.off('resize', redraw);
  }, [stdout]);
  return { columns: fixed.columns ?? stdout.columns ?? 80, rows: fixed.rows ?? stdout.rows ?? 24 };
}

export function Dashboard(props: DashboardProps) {
  const { store, mode, ended = false } = props;
  const board = useSyncExternalStore(store.subscribe, store.get);
  const { isRawModeSupported } = useStdin();
  const { columns, rows } = useTerminalSize(props);
  const width = Math.max(1, columns - 1);
  // The view state lives in a ref too: a key handler must see what the previous key did even
  // before React has drawn it.
  const [view, setView] = useState<ViewState>(INITIAL_VIEW);
  const latest = useRef(view);
  const { sortIndex, groupKey, confirming, stopping, notice } = view;
  const sort = SORTS[sortIndex];
  // Once the sweep has ended the final leaderboard (or the groups) stays, without a detail.
  const { showing, trials, selected } = screenOf(ended ? { ...view, detail: false } : view, board);

  useInput(
    (input, key) => {
      // Several keys can arrive in one read (fast typing, key repeat, `qy`, `s` + Enter on a busy
      // machine): each acts on its own, with its own Key (see keypress.ts).
      for (const press of keyPresses(input, key)) {
        const { view: next, effect } = pressKey(latest.current, press.input, press.key, store.get(), mode);
        latest.current = next;
        if (effect === 'stop') props.onStop?.();
        else if (effect === 'interrupt') props.onInterrupt?.();
        else if (effect === 'quit') {
          props.onQuit?.();
          break; // the viewer is gone: the keys after it are not for it
        }
      }
      setView(latest.current);
    },
    { isActive: isRawModeSupported === true && !ended },
  );

  const now = props.now?.() ?? Date.now();
  // A sweep across machines: a footer line per agent, above the progress line; the rows give way.
  const agents = agentSummaries(board);
  const room = agentRoom(agents.length, rows);
  const chrome = CHROME_LINES + room;
  const seedsOf =
    showing === 'members' && trials.length
      ? ` · ${paramKeys(board, true).map((k) => `${k}=${settingText(trials[0].config, k)}`).join(' ')}: ${trials.length} seed${trials.length === 1 ? '' : 's'}`
      : '';
  const title = `lenet-sweep · ${board.sweep.name} · ${board.sweep.metric} (${goalText(board.sweep.goal)})${showing === 'groups' || showing === 'members' ? ' · grouped over seeds' : ''}${seedsOf}`;
  // The footer's second line: a question, an error, a notice, else the keys (none once ended).
  let message: string | null = notice ?? (stopping ? STOPPING : null);
  if (store.error) message = `database: ${store.error}`;
  // The answer keys first: a narrow terminal cuts the end of the line (fit), the explanation.
  if (confirming) message = 'stop the sweep? y = stop, any other key = go on (running trials end after their current batch; queued ones stay queued)';
  if (ended) message = null;
  const content =
    showing === 'detail' && selected ? (
      <Detail trial={selected} metric={board.sweep.metric} width={width} height={rows - chrome + 1} />
    ) : showing === 'groups' ? (
      <Groups board={board} selectedKey={groupKey} highlight={!ended} width={width} rows={rows - chrome} />
    ) : (
      <Leaderboard board={board} trials={trials} selectedId={ended ? null : (selected?.id ?? null)} width={width} rows={rows - chrome} />
    );
  return (
    <Box flexDirection="column">
      <Text bold color="blue">
        {fit(title, width).trimEnd()}
      </Text>
      {content}
      <Text> </Text>
      <Footer totals={totals(board, now)} sweepStatus={board.sweep.status} processGone={board.sweep.processGone} sort={sort} view={showing} mode={mode} message={message} ended={ended} width={width} agents={agents} agentRoom={room} now={now} />
    </Box>
  );
}
