/**
 * The report as one self-contained HTML file: the text parts (summary, leaderboard, trial
 * details, tables) written here as HTML, the charts as Vega-Lite specs that the inlined Vega,
 * Vega-Lite and vega-embed draw in the browser. Everything is in the file; a Content Security
 * Policy forbids the page any request, so it cannot reach the network even by mistake.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { metricValue, num, pct, rate } from '../view/format.js';
import { valueText } from '../config/load.js';
import { STILL_RUNNING, type ReportParam, type ReportSweep, type ReportTrial } from './data.js';
import { trialCurvesSpec } from './curve-specs.js';
import { scatterName } from './parameter-specs.js';
import { colorEncoding, type Spec } from './spec-base.js';
import { datasets } from './spec-datasets.js';
import { sweepCharts } from './sweep-charts.js';

const require = createRequire(import.meta.url);
const ASSETS = new URL('../../assets/report/', import.meta.url);

/** An installed package's folder (their exports hide package.json): up from its entry point to its package.json. */
function packageDir(pkg: string): string {
  let dir = dirname(require.resolve(pkg));
  while (!existsSync(join(dir, 'package.json')) || (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== pkg) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the folder of the package ${pkg}`);
    dir = up;
  }
  return dir;
}

/** A library's browser build, from its installed package. */
function libraryScript(pkg: string, file: string): string {
  return readFileSync(join(packageDir(pkg), 'build', file), 'utf8');
}

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** Text inside a <script>: `</script` or `<!--` in it would end or confuse the element. */
const scriptText = (s: string) => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
/** JSON inside a <script>: every `<` escaped, which JSON.parse reads back unchanged. */
export const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

const duration = (seconds: number | null) => {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min` : s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
};

export interface ReportMeta {
  /** The database the report was read from, as the user named it. */
  db: string;
  version: string;
  writtenAt: string;
  /**
   * A page `sweep serve` sends: it updates itself from the server (assets/report/live.js) from
   * `cursor`, the place in its sweep's sequence of changes read before the page was made. The
   * page may then be sent again what it shows already, never miss a change.
   */
  live?: { cursor: number };
}

interface Column {
  header: string;
  key: string;
  type: 'number' | 'text';
  text: (t: ReportTrial) => string;
  /** What the column sorts on; '' for a missing value (sorted last). */
  value: (t: ReportTrial) => string;
}

/** A swept value as `runs list` shows it (drawn numbers to 6 significant digits); the sort uses the exact value. */
const paramText = (v: string | number | boolean | undefined) => (v === undefined ? '—' : valueText(v));

const numberValue = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '' : String(v));

/** The leaderboard's columns: the ranks and figures `sweep runs list` shows. */
function leaderboardColumns(sweep: ReportSweep): Column[] {
  const params = sweep.params.filter((p) => p.values.length > 1);
  return [
    { header: '#', key: 'rank', type: 'number', text: (t) => (t.rank === null ? '' : String(t.rank)), value: (t) => numberValue(t.rank) },
    { header: 'trial', key: 'trial', type: 'text', text: (t) => t.id, value: (t) => t.id },
    ...params.map((p): Column => ({
      header: p.name,
      key: `param:${p.name}`,
      type: p.kind === 'number' ? 'number' : 'text',
      text: (t) => paramText(t.params[p.name]),
      value: (t) => (t.params[p.name] === undefined ? '' : String(t.params[p.name])),
    })),
    { header: `best ${sweep.metric}`, key: 'best', type: 'number', text: (t) => metricValue(sweep.metric, t.best_value), value: (t) => numberValue(t.best_value) },
    { header: 'test_acc', key: 'test_acc', type: 'number', text: (t) => pct(t.test_acc), value: (t) => numberValue(t.test_acc) },
    { header: 'epochs', key: 'epochs', type: 'number', text: (t) => `${t.epochs}/${t.epochs_planned}`, value: (t) => String(t.epochs) },
    { header: 'img/s', key: 'images_per_s', type: 'number', text: (t) => rate(t.images_per_s), value: (t) => numberValue(t.images_per_s) },
    { header: 'backend', key: 'backend', type: 'text', text: (t) => t.backend ?? '—', value: (t) => t.backend ?? '' },
    { header: 'status', key: 'status', type: 'text', text: (t) => t.status, value: (t) => t.status },
  ];
}

function detailHtml(sweep: ReportSweep, t: ReportTrial, span: number): string {
  const headers = ['epoch', 'train_loss', 'train_acc', 'val_loss', 'val_acc', 'lr', 'seconds'];
  const rows = t.history.map((e) => [String(e.epoch), num(e.train_loss), pct(e.train_acc), num(e.val_loss), pct(e.val_acc), e.lr === null ? '—' : valueText(e.lr), e.seconds === null ? '—' : e.seconds.toFixed(1)]);
  const epochs = rows.length
    ? `<table class="epochs"><thead><tr>${headers.map((h) => `<th class="num">${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td class="num">${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`
    : '<p class="muted">no epoch finished</p>';
  const why = [
    t.error ? `<p class="warning">${escapeHtml(t.error)}</p>` : '',
    t.prune_reason ? `<p>stopped by the rule: ${escapeHtml(t.prune_reason)}</p>` : '',
  ].join('');
  return `<tr class="detail" hidden><td colspan="${span}">
<p><b>trial ${t.id}</b>: ${escapeHtml(t.status)}; best ${escapeHtml(sweep.metric)} ${escapeHtml(metricValue(sweep.metric, t.best_value))}${t.best_epoch ? ` at epoch ${t.best_epoch}` : ''}; test accuracy ${pct(t.test_acc)}; started ${escapeHtml(t.started_at ?? '—')}, finished ${escapeHtml(t.finished_at ?? '—')}</p>${why}
<div class="detail-grid"><pre class="config">${escapeHtml(t.config)}</pre><div>${epochs}</div>${t.history.length ? `<div class="chart" data-trial="${t.id}"></div>` : ''}</div>
</td></tr>`;
}

/**
 * The leaderboard's rows of a sweep: a function of a trial and its place in the ranked order that
 * writes its row and its (hidden) detail row. The page is written with it, and `sweep serve`
 * sends a live page the rows of the trials that changed, written by the same function.
 */
export function trialRows(sweep: ReportSweep): (t: ReportTrial, place: number) => string {
  const columns = leaderboardColumns(sweep);
  return (t, place) => {
    const cells = columns.map((c) => `<td data-value="${escapeHtml(c.value(t))}"${c.type === 'number' ? ' class="num"' : ''}${c.key === 'status' ? ` class="status-${escapeHtml(t.status)}"` : ''}>${escapeHtml(c.text(t))}</td>`).join('');
    return `<tr class="trial${t.id === sweep.leader ? ' leader' : ''}" data-trial="${t.id}" data-place="${place}" aria-expanded="false">${cells}</tr>\n${detailHtml(sweep, t, columns.length)}`;
  };
}

/** The leaderboard a trial at a time: a few kB each, and a sweep of 200,000 trials is more text than one string can hold. `rows: false`: its frame alone. */
function* leaderboardHtml(sweep: ReportSweep, rows = true): Generator<string> {
  const columns = leaderboardColumns(sweep);
  const head = columns.map((c) => `<th data-key="${escapeHtml(c.key)}" data-type="${c.type}"${c.type === 'number' ? ' class="num"' : ''} title="sort by ${escapeHtml(c.header)}">${escapeHtml(c.header)}</th>`).join('');
  yield `<div class="scroll board"><table class="leaderboard"><thead><tr>${head}</tr></thead><tbody>\n`;
  const row = trialRows(sweep);
  if (rows) for (const [place, t] of sweep.trials.entries()) yield `${place ? '\n' : ''}${row(t, place)}`;
  yield '\n</tbody></table></div>';
}

/** The sweep's summary (file, status, search, counts, time…): a live page swaps it whole. */
export function summaryHtml(sweep: ReportSweep): string {
  const counts = Object.entries(sweep.counts).map(([status, n]) => `${n} ${status}`).join(', ') || 'none';
  const p = sweep.provenance;
  const rows: [string, string][] = [
    ['file', sweep.file],
    ['status', sweep.status],
    ['search', `${sweep.method}${sweep.rule ? `, early termination by ${sweep.rule}` : ''}`],
    ['metric', `${sweep.metric} (${sweep.goal === 'maximize' ? 'higher is better' : 'lower is better'})`],
    ['trials', `${sweep.trialCount}: ${counts}`],
    ['epochs', `${sweep.epochs.trained} trained${sweep.epochs.saved ? `; ${sweep.epochs.saved} of ${sweep.epochs.planned} planned saved by early termination (${pct(sweep.epochs.saved / sweep.epochs.planned, 0)})` : ''}`],
    ['time', `${duration(sweep.wallSeconds)} wall clock, ${duration(sweep.computeSeconds)} of training over all trials`],
    ['backend', `${sweep.backends.join(', ') || '—'}${sweep.adapters.length ? ` on ${sweep.adapters.join(', ')}` : ''}`],
    ...(sweep.leader ? [['leader', `trial ${sweep.leader}: best ${sweep.metric} ${metricValue(sweep.metric, sweep.trials.find((t) => t.id === sweep.leader)!.best_value)}`] as [string, string]] : []),
    ...(p
      ? ([
          ['source', `${p.file.path} (sha256 ${p.file.sha256.slice(0, 12)})${p.file.git ? `, git ${p.file.git.commit.slice(0, 10)}${p.file.git.dirty ? ' with uncommitted changes' : ''}` : ', not in git'}`],
          ['data', `${p.dataset.name}${sweep.dataSource ? ` from ${sweep.dataSource}, as IDX files` : ''} in ${p.dataset.dir} (${Object.keys(p.dataset.sha256).length} files checksummed)`],
          ['versions', Object.entries(p.versions).map(([k, v]) => `${k} ${v}`).join(', ')],
        ] as [string, string][])
      : []),
  ];
  return `<dl class="summary">${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

const chart = (name: string, spec: Spec | null | undefined, empty: string) => (spec ? `<div class="chart" data-chart="${escapeHtml(name)}"></div>` : empty ? `<p class="muted">${escapeHtml(empty)}</p>` : '');

/** Where sweepHtml's parts have the leaderboard, made as it is written out. */
const LEADERBOARD = Symbol('leaderboard');

/** Where the skeleton of a sweep's section (sweepStructure) has its summary. */
const SUMMARY = Symbol('summary');

function* sweepHtml(sweep: ReportSweep, index: number, charts: Record<string, Spec | null>, { skeleton = false, live = false } = {}): Generator<string> {
  const varied = sweep.params.filter((p) => p.values.length > 1);
  const options = varied.map((p) => `<option value="${escapeHtml(p.name)}"${p.name === sweep.colorBy ? ' selected' : ''}>${escapeHtml(p.name)}</option>`).join('');
  const parts: (string | typeof LEADERBOARD | typeof SUMMARY)[] = [
    `<h2>sweep ${escapeHtml(sweep.name)}</h2>`,
    sweep.description ? `<p>${escapeHtml(sweep.description)}</p>` : '',
    ...sweep.notes.map((n) => `<p class="note">${escapeHtml(live && n === STILL_RUNNING ? 'The sweep is running: this page follows it, without a reload.' : n)}</p>`),
    skeleton ? SUMMARY : summaryHtml(sweep),
    '<h3>Leaderboard</h3><p class="muted">Click a column to sort, a trial to open its config, epochs and curves.</p>',
    LEADERBOARD,
    '<h3>Learning curves</h3>',
    varied.length > 1 ? `<label class="color-by">colour by <select class="color-by">${options}</select></label>` : '',
    `<div class="charts">${chart('curves-metric', charts['curves-metric'], '')}${chart('curves-val_loss', charts['curves-val_loss'], '')}${chart('curves-train_loss', charts['curves-train_loss'], '')}</div>`,
  ];
  if (!sweep.trials.some((t) => t.history.length)) parts.push('<p class="muted">No epoch has finished yet: no curves to draw.</p>');
  if (varied.length) {
    parts.push(
      '<h3>Where the good configurations lie</h3>',
      `<div class="scroll">${chart('parallel', charts.parallel, 'no trial has a value yet')}</div>`,
      `<div class="charts">${varied.map((p) => chart(scatterName(p), charts[scatterName(p)], '')).join('')}</div>`,
      '<h3>What matters</h3>',
      sweep.importance?.warning ? `<p class="warning">${escapeHtml(sweep.importance.warning)}</p>` : '',
      sweep.groups ? '<p class="muted">The seed is left out here: repeats over seeds are compared below.</p>' : '',
      chart('importance', charts.importance, (sweep.importance?.importances.length ?? 0) > 1 ? 'too few trials with a value to say' : ''),
    );
  }
  if (sweep.groups) {
    const keys = Object.keys(sweep.groups[0]?.params ?? {});
    const rows = sweep.groups.map((g, i) => `<tr><td class="num">${i + 1}</td>${keys.map((k) => `<td>${escapeHtml(g.params[k] ?? '')}</td>`).join('')}<td class="num">${g.n}</td><td class="num">${escapeHtml(g.text)}</td><td class="num">${g.ci ? escapeHtml(`${metricValue(sweep.metric, g.ci[0])} … ${metricValue(sweep.metric, g.ci[1])}`) : '—'}</td><td class="num">${escapeHtml(g.test)}</td><td>${escapeHtml(g.verdict)}</td></tr>`);
    parts.push(
      '<h3>Repeats over seeds</h3>',
      `<table class="groups"><thead><tr><th class="num">#</th>${keys.map((k) => `<th>${escapeHtml(k)}</th>`).join('')}<th class="num">seeds</th><th class="num">${escapeHtml(sweep.metric)} mean ± sd</th><th class="num">95% CI of the mean</th><th class="num">test mean ± sd</th><th>vs leader</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
      '<p class="muted">Over completed seeds; each configuration against the leader by Welch\'s t-test, p adjusted by Holm for testing every configuration; n.s. = not significant at 0.05.</p>',
      chart('groups', charts.groups, 'no configuration has completed seeds yet'),
    );
  }
  if (sweep.adaptive) {
    parts.push(
      '<h3>The search</h3>',
      `<div class="charts">${chart('best-by-trial', charts['best-by-trial'], 'no trial has a value yet')}${chart('best-by-time', charts['best-by-time'], '')}${chart('stops', charts.stops, sweep.rule ? 'the rule has stopped no trial' : '')}</div>`,
    );
  }
  const c = sweep.confusion;
  parts.push('<h3>Where the best model errs</h3>');
  if (c) {
    const name = (label: number) => escapeHtml(c.names[label] ?? String(label));
    const pairs = c.pairs.map((p) => `<li>${name(p.actual)} read as ${name(p.predicted)}: ${p.count} test image${p.count === 1 ? '' : 's'}</li>`).join('');
    const digits = c.digits.map((d) => `<figure><img alt="a ${name(d.actual)} read as ${name(d.predicted)}" src="${d.src}"><figcaption>${name(d.actual)} → ${name(d.predicted)}</figcaption></figure>`).join('');
    const total = c.matrix.flat().reduce((a, b) => a + b, 0);
    const right = c.matrix.reduce((a, row, i) => a + (row[i] ?? 0), 0);
    parts.push(
      `<p>Trial ${c.trial}, test split: ${right} of ${total} right (${pct(total ? right / total : null)}).</p>`,
      `<div class="charts">${chart('confusion', charts.confusion, '')}<div><b>Most confused</b><ul>${pairs || '<li>none</li>'}</ul></div></div>`,
      // Drawn from the checkpoint by the page's builder alone (the live answer reads no checkpoint): not in the skeleton.
      c.digits.length && !skeleton ? `<p><b>Misclassified test digits</b> (actual → predicted)</p><div class="digits">${digits}</div>` : '',
      c.digitsNote && !skeleton ? `<p class="muted">${escapeHtml(c.digitsNote)}</p>` : '',
    );
  } else {
    // No completed trial at all is said in the sweep's notes; one that completed without a matrix was trained by an older version.
    if (sweep.leader) parts.push('<p class="muted">No completed trial has a test confusion matrix (trials record one since lenet-sweep 0.1 with checkpoints).</p>');
  }
  yield `<section class="sweep" id="sweep-${index}" data-sweep="${index}">\n`;
  for (const [i, part] of parts.filter(Boolean).entries()) {
    if (i) yield '\n';
    if (part === LEADERBOARD) yield* leaderboardHtml(sweep, !skeleton);
    else if (part !== SUMMARY) yield part;
  }
  yield '\n</section>';
}

/**
 * What of a sweep's section a live page cannot patch in place, as a short hash: its HTML but the
 * summary and the leaderboard's rows, which a live page swaps (its charts are patched or drawn
 * again one by one). While it stays the same, a served page updates itself by parts; when it
 * changes (the first curve to draw, a new column, the confusion matrix of a new best trial), the
 * page takes the section again whole.
 */
export function sweepStructure(sweep: ReportSweep, charts: Record<string, Spec | null>): string {
  return createHash('sha256').update([...sweepHtml(sweep, 0, charts, { skeleton: true, live: true })].join('')).digest('hex').slice(0, 16);
}

/** The chart data and specs the page script reads, per sweep. */
function pageData(sweep: ReportSweep, charts: Record<string, Spec | null>) {
  return {
    name: sweep.name,
    charts: Object.fromEntries(Object.entries(charts).filter(([, s]) => s !== null)),
    datasets: datasets(sweep),
    colorEncodings: Object.fromEntries(sweep.params.map((p: ReportParam) => [p.name, colorEncoding(sweep.params, p.name)])),
    trialTemplate: trialCurvesSpec(['__TRIAL__']),
  };
}

/**
 * The whole report page, in parts to be written one after another: the page of a sweep of
 * 200,000 trials is about 800 MB, more than a string can hold (512 MB).
 */
export function* reportHtml(sweeps: ReportSweep[], meta: ReportMeta): Generator<string> {
  const charts = sweeps.map(sweepCharts);
  const title = `lenet-sweep report: ${sweeps.map((s) => s.name).join(', ')}`;
  const script = (text: string) => `<script>${scriptText(text)}</script>`;
  yield `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:${meta.live ? "; connect-src 'self'" : ''}">
<title>${escapeHtml(title)}</title>
<style>${readFileSync(new URL('page.css', ASSETS), 'utf8')}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1><p>${escapeHtml(meta.live ? `from ${meta.db}, served live by lenet-sweep ${meta.version} (page made ${meta.writtenAt})` : `from ${meta.db}, written ${meta.writtenAt} by lenet-sweep ${meta.version}`)}</p></header>
<main${sweeps.length > 1 ? ' class="several"' : ''}>
`;
  for (const [i, sweep] of sweeps.entries()) {
    if (i) yield '\n';
    yield* sweepHtml(sweep, i, charts[i], { live: meta.live !== undefined });
  }
  yield `
</main>
<footer>Charts drawn with Vega-Lite ${escapeHtml(libraryVersion('vega-lite'))} (Vega ${escapeHtml(libraryVersion('vega'))}); hover a mark for its values. ${meta.live ? '<span class="live-state">This page updates itself while the sweep runs.</span>' : 'This file needs no network.'}</footer>
${chartLibraries()}
<script type="application/json" id="report-data">${scriptJson({ sweeps: sweeps.map((s, i) => pageData(s, charts[i])) })}</script>
${script(readFileSync(new URL('page.js', ASSETS), 'utf8'))}${meta.live ? `
<script type="application/json" id="live-data">${scriptJson({ sweep: sweeps[0].name, cursor: meta.live.cursor, colorBy: sweeps[0].colorBy, structure: sweepStructure(sweeps[0], charts[0]), gone: sweeps[0].status === 'killed' })}</script>
${script(readFileSync(new URL('live.js', ASSETS), 'utf8'))}
${script(readFileSync(new URL('choose.js', ASSETS), 'utf8'))}` : ''}
</body>
</html>
`;
}

/** Vega, Vega-Lite and vega-embed, inline: what a page needs to draw the report's charts with no network. */
export function chartLibraries(): string {
  return [libraryScript('vega', 'vega.min.js'), libraryScript('vega-lite', 'vega-lite.min.js'), libraryScript('vega-embed', 'vega-embed.min.js')].map((text) => `<script>${scriptText(text)}</script>`).join('\n');
}

function libraryVersion(pkg: string): string {
  return (JSON.parse(readFileSync(join(packageDir(pkg), 'package.json'), 'utf8')) as { version: string }).version;
}
