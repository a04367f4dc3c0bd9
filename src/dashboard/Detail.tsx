/**
 * One trial in detail: what it is (params, resolved config), how it went (epoch table) and its
 * loss and accuracy curves as terminal line charts, side by side when the terminal is wide.
 */
import { Box, Text } from 'ink';
import { metricValue, num, pct, rate } from '../view/format.js';
import { isMapping } from '../util/mapping.js';
import { lineChart } from '../view/charts.js';
import type { BoardTrial } from './board.js';
import { cells, fit, fitColumns, headerLine, SEPARATOR, type Column } from './columns.js';
import { STATUS_COLOR } from './Leaderboard.js';
import { maxOf } from '../util/extremes.js';

/** "model.pooling=max optimizer.lr=0.001 …": the config's leaves in file order. */
export function flatConfig(value: unknown, prefix = ''): string[] {
  if (isMapping(value)) return Object.entries(value).flatMap(([k, v]) => flatConfig(v, `${prefix}${k}.`));
  return [`${prefix.slice(0, -1)}=${Array.isArray(value) ? JSON.stringify(value) : String(value)}`];
}

/** Words packed into at most `lines` lines of `width`; '…' when some did not fit. */
function pack(words: string[], width: number, lines: number): string[] {
  const out: string[] = [''];
  for (const w of words) {
    const line = out[out.length - 1];
    if (!line || line.length + 1 + w.length <= width) out[out.length - 1] = line ? `${line} ${w}` : w;
    else if (out.length < lines) out.push(w);
    else {
      out[out.length - 1] = fit(`${line} …`, width);
      break;
    }
  }
  return out.map((l) => fit(l, width).trimEnd());
}

const EPOCH_HEADERS = ['epoch', 'train_loss', 'train_acc', 'val_loss', 'val_acc', 'lr', 'seconds', 'img/s'];
/** Which epoch columns stay longest in a narrow terminal (dropped whole, never cut). */
const EPOCH_PRIORITY = [100, 70, 60, 80, 90, 40, 30, 50];

export function Detail({ trial, metric, width, height }: { trial: BoardTrial; metric: string; width: number; height: number }) {
  const e = trial.history;
  const summary =
    `trial ${trial.id} · ${trial.status}${trial.agent === null ? '' : ` · agent ${trial.agent}`} · best ${metric} ${metricValue(metric, trial.best_value)}` +
    `${trial.best_epoch ? ` (epoch ${trial.best_epoch})` : ''} · test ${pct(trial.test_acc)} · ${rate(trial.images_per_s)} img/s` +
    ` · ${trial.param_count?.toLocaleString('en') ?? '—'} parameters`;
  // The sweep block is the same for every trial and its swept values are the params line.
  const params = Object.entries(trial.params).map(([k, v]) => `${k}=${v}`);
  // Everything must fit in `height` lines (a taller frame makes Ink clear the screen on every
  // redraw): the fixed lines first, then table rows, then charts, which go first when short.
  const configLines = height >= 24 ? 3 : 1;
  const config = pack(flatConfig(trial.config).filter((w) => !w.startsWith('description=') && !w.startsWith('sweep.')), width - 8, configLines);
  let left = height - (2 + config.length + (trial.error ? 1 : 0) + (trial.prune_reason ? 1 : 0) + 1);
  const tableRows = Math.max(1, Math.min(e.length, Math.floor(left / 3)));
  left -= tableRows;
  const rows = e.slice(-tableRows).map((r) => [String(r.epoch), num(r.train_loss), pct(r.train_acc), num(r.val_loss), pct(r.val_acc), String(r.lr ?? ''), r.seconds?.toFixed(1) ?? '', rate(r.images_per_s)]);
  // Right-aligned, one more than the widest cell: two spaces between columns.
  const columns = fitColumns(
    EPOCH_HEADERS.map((header, i): Column<string[]> => ({
      header,
      width: Math.max(header.length, maxOf(rows.map((r) => r[i].length))) + (i ? 1 : 0),
      priority: EPOCH_PRIORITY[i],
      align: 'right',
      cell: (r) => r[i],
    })),
    width,
  );
  const tableLine = (row: string[]) => cells(columns, row).join(SEPARATOR);
  // A chart takes its plot rows plus three: title, x axis, legend.
  const sideBySide = width >= 84;
  const stackedHeight = Math.floor(left / 2) - 3;
  const kinds: ('loss' | 'accuracy')[] =
    sideBySide || stackedHeight >= 3 ? ['loss', 'accuracy'] : left - 3 >= 2 ? [metric.endsWith('_loss') ? 'loss' : 'accuracy'] : [];
  const chartHeight = Math.min(10, sideBySide || kinds.length === 1 ? left - 3 : stackedHeight);
  const chartWidth = sideBySide ? Math.floor((width - 2) / 2) : width;
  const charts = chartHeight < 2 ? [] : kinds.map((kind) => ({
    kind,
    lines:
      kind === 'loss'
        ? lineChart([{ label: 'train_loss', values: e.map((r) => r.train_loss) }, { label: 'val_loss', values: e.map((r) => r.val_loss) }], { width: chartWidth, height: chartHeight })
        : lineChart([{ label: 'train_acc', values: e.map((r) => r.train_acc) }, { label: 'val_acc', values: e.map((r) => r.val_acc) }], {
            width: chartWidth,
            height: chartHeight,
            format: (v) => pct(v, 1),
          }),
  }));
  return (
    <>
      <Text bold wrap="truncate">
        {fit(summary, width).trimEnd()}
      </Text>
      <Text wrap="truncate">
        <Text color={STATUS_COLOR[trial.status]}>{fit(`params  ${params.join('  ') || '(none swept)'}`, width).trimEnd()}</Text>
      </Text>
      {config.map((l, i) => (
        <Text key={i} dimColor wrap="truncate">
          {`${i === 0 ? 'config' : '      '}  ${l}`}
        </Text>
      ))}
      {trial.error && <Text color="red" wrap="truncate">{fit(`error   ${trial.error}`, width)}</Text>}
      {trial.prune_reason && <Text color="magenta" wrap="truncate">{fit(`pruned  ${trial.prune_reason}`, width)}</Text>}
      <Text bold wrap="truncate">{headerLine(columns)}</Text>
      {rows.length ? rows.map((r) => <Text key={r[0]} wrap="truncate">{tableLine(r)}</Text>) : <Text dimColor>no epoch finished yet</Text>}
      <Box flexDirection={sideBySide ? 'row' : 'column'} gap={sideBySide ? 2 : 0}>
        {charts.map(({ kind, lines }) => (
          <Box key={kind} flexDirection="column">
            <Text bold>{kind}</Text>
            {lines.map((l, i) => (
              <Text key={i} wrap="truncate">
                {l}
              </Text>
            ))}
          </Box>
        ))}
      </Box>
    </>
  );
}
