/** The footer: what each agent does, how far the sweep is, how long it has run and will run, and the keys. */
import { Text } from 'ink';
import { fit } from './columns.js';
import type { AgentSummary, Sort, Totals } from './derive.js';
import type { Screen } from './keys.js';

/** "42s", "3m05s", "1h02m". */
export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** "3,450 img/s"; "— img/s" when not measured. */
const imagesText = (v: number | null) => `${v === null ? '—' : Math.round(v).toLocaleString('en')} img/s`;

/** "agent gpu-box-1: 2 running, 5 done, 3,450 img/s, heard 3s ago" (no throughput while it trains nothing). */
export function agentLine(a: AgentSummary, now: number): string {
  const heard = Number.isFinite(a.heardAt) ? `heard ${duration(Math.max(0, (now - a.heardAt) / 1000))} ago` : 'not heard';
  return `agent ${a.name}: ${[`${a.running} running`, `${a.done} done`, ...(a.running ? [imagesText(a.imagesPerS)] : []), heard].join(', ')}`;
}

/**
 * The agents' lines, at most `max`: with more agents than that, the last line sums up the rest
 * ("+3 more agents: 4 running, 9 done, 5,120 img/s").
 */
export function agentLines(agents: AgentSummary[], now: number, max: number): string[] {
  if (max <= 0) return [];
  if (agents.length <= max) return agents.map((a) => agentLine(a, now));
  const shown = agents.slice(0, Math.max(0, max - 1));
  const rest = agents.slice(shown.length);
  const sum = (pick: (a: AgentSummary) => number) => rest.reduce((n, a) => n + pick(a), 0);
  const rates = rest.filter((a) => a.running && a.imagesPerS !== null);
  const running = sum((a) => a.running);
  const summary = [`${running} running`, `${sum((a) => a.done)} done`, ...(running ? [imagesText(rates.length ? rates.reduce((n, a) => n + a.imagesPerS!, 0) : null)] : [])];
  return [...shown.map((a) => agentLine(a, now)), `${shown.length ? '+' : ''}${rest.length} ${shown.length ? 'more ' : ''}agents: ${summary.join(', ')}`];
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
  /** The agents training the sweep (none: no lines for them), shown in at most `agentRoom` lines, heard of as of `now`. */
  agents?: AgentSummary[];
  agentRoom?: number;
  now?: number;
}

export function Footer({ totals: t, sweepStatus, processGone, sort, view, mode, message, ended, width, agents = [], agentRoom = 0, now = Date.now() }: FooterProps) {
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
      {agentLines(agents, now, agentRoom).map((line, i) => (
        <Text key={i}>{fit(line, width).trimEnd()}</Text>
      ))}
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
