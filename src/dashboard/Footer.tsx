/** The footer: how far the sweep is, how long it has run and will run, and the keys. */
import { Text } from 'ink';
import { fit } from './columns.js';
import type { Sort, Totals } from './derive.js';
import type { Screen } from './keys.js';

/** "42s", "3m05s", "1h02m". */
export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface FooterProps {
  totals: Totals;
  sweepStatus: string;
  /** The sweep is marked running but its process has ended. */
  processGone: boolean;
  sort: Sort;
  view: Screen['showing'];
  /** 'run': this process runs the sweep (q stops it); 'attach': watching another process (q quits). */
  mode: 'run' | 'attach';
  /** A question or notice that replaces the key help. */
  message: string | null;
  ended: boolean;
  width: number;
}

export function Footer({ totals: t, sweepStatus, processGone, sort, view, mode, message, ended, width }: FooterProps) {
  const progress = [
    `${t.done}/${t.total} done`,
    `${t.running} running${t.workers ? ` on ${t.workers} worker${t.workers === 1 ? '' : 's'}` : ''}`,
    ...(t.pruned ? [`${t.pruned} pruned (${t.epochShare === null ? '—' : `${Math.round(t.epochShare * 100)}%`} of a full search's epochs)`] : []),
    ...(t.failed ? [`${t.failed} failed`] : []),
    ...(t.interrupted ? [`${t.interrupted} interrupted`] : []),
    `elapsed ${duration(t.elapsed)}`,
    ...(processGone
      ? ['process gone (killed?): run the file to resume']
      : ended || sweepStatus !== 'running'
        ? [`sweep ${sweepStatus}`]
        : [`ETA ${duration(t.eta)}`]),
  ].join(' · ');
  const keys = ended
    ? ''
    : [
        ...{
          trials: ['↑↓ select', 'Enter detail', `s sort: ${sort}`, 'g group by config'],
          groups: ['↑↓ select', 'Enter its seeds', 'g ungroup'],
          members: ['↑↓ select', 'Enter detail', 'Esc groups', `s sort: ${sort}`, 'g ungroup'],
          detail: ['Enter/Esc back'],
        }[view],
        mode === 'run' ? 'q stop' : 'q quit',
      ].join(' · ');
  return (
    <>
      <Text>{fit(progress, width).trimEnd()}</Text>
      {message ? (
        <Text color="yellow">
          {fit(message, width).trimEnd()}
        </Text>
      ) : (
        keys && <Text dimColor>{fit(keys, width).trimEnd()}</Text>
      )}
    </>
  );
}
