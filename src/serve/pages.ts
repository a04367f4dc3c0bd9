/**
 * `sweep serve`'s HTML that is not the report: the index of every sweep in the database, and the
 * page for a sweep or path that is not there. Written whole on each request from what the
 * database holds then; the sweep pages themselves are the report's (report/html.ts). The compare
 * page draws the report's trial curves (report/curve-specs.ts) beside `runs compare`'s table.
 */
import { chartLibraries, escapeHtml, scriptJson } from '../report/html.js';
import { trialCurvesSpec } from '../report/curve-specs.js';
import { withDatasets } from '../report/spec-datasets.js';
import type { EpochRow, SweepSummary, TrialRecord } from '../store/queries.js';
import { compareTrials } from '../view/compare.js';
import { metricValue, sweepStatusText } from '../view/format.js';

/** What the server sends with every page: nothing may be loaded from elsewhere (as the report). */
export const PAGE_CSP = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'";

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}
th,td{padding:.3rem .7rem;border-bottom:1px solid #ddd;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
a{color:#1f5fa8}.muted{color:#777}tr.differs td{background:#fff6e0}`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** A sweep's page address: its name as one path segment. */
export const sweepPath = (name: string) => `/sweeps/${encodeURIComponent(name)}`;

/** The index table's rows: every sweep, most recently updated first, each linking to its page. */
export function indexRows(sweeps: SweepSummary[]): string {
  if (!sweeps.length) return '<tr><td colspan="8">No sweeps yet: run one with <code>sweep FILE</code>.</td></tr>';
  return sweeps
    .map((s) => {
      const counts = Object.entries(s.counts)
        .filter(([, n]) => n)
        .map(([status, n]) => `${n} ${status}`)
        .join(', ');
      return `<tr><td><a href="${escapeHtml(sweepPath(s.name))}">${escapeHtml(s.name)}</a></td><td>${escapeHtml(sweepStatusText(s.status, s.process_gone))}</td>` +
        `<td class="n">${s.trials}</td><td>${escapeHtml(counts || '—')}</td><td>${escapeHtml(s.metric)}</td><td class="n">${escapeHtml(metricValue(s.metric, s.best_value))}</td>` +
        `<td>${escapeHtml(s.updated_at.replace('T', ' ').slice(0, 19))}</td><td>${escapeHtml(s.file)}</td></tr>`;
    })
    .join('\n');
}

/** Where the index asks for its rows again. */
export const INDEX_ROWS_PATH = '/fragments/index-rows';

/**
 * The index keeps itself up to date: every second it asks for its rows again (made by indexRows,
 * on the server: one way of writing them) and puts them in place when they changed, without a
 * reload, so a sweep started elsewhere appears and a running one's counts move.
 */
const INDEX_SCRIPT = `(function () {
  'use strict';
  var body = document.getElementById('sweeps');
  var shown = null;
  function refresh() {
    fetch('${INDEX_ROWS_PATH}', { cache: 'no-store' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (rows) {
        if (rows !== null && rows !== shown) {
          if (shown !== null) body.innerHTML = rows;
          shown = rows;
        }
      }, function () { /* the server stopped: try again */ })
      .then(function () { setTimeout(refresh, 1000); });
  }
  refresh();
})();`;

/** The index page: the table of sweeps (indexRows), updating itself. */
export function indexPage(db: string, sweeps: SweepSummary[]): string {
  const table = `<table><thead><tr><th>sweep</th><th>status</th><th>trials</th><th>by status</th><th>metric</th><th>best</th><th>updated</th><th>file</th></tr></thead>\n<tbody id="sweeps">\n${indexRows(sweeps)}\n</tbody></table>`;
  return page(`lenet-sweep: ${db}`, `<h1>Sweeps in ${escapeHtml(db)}</h1>\n${table}\n<p class="muted">It updates itself every second. JSON of the same: <a href="/api/sweeps">/api/sweeps</a></p>\n<script>${INDEX_SCRIPT}</script>`);
}

/** A page that is not there: what was asked, and the nearest sweeps where it named one. */
export function notFoundPage(message: string): string {
  return page('not found: lenet-sweep', `<h1>Not found</h1>\n<p>${escapeHtml(message)}</p>\n<p><a href="/">All sweeps</a></p>`);
}

/** A page that failed on our side (a damaged or vanished database): what went wrong. */
export function errorPage(message: string, heading = 'This page could not be made'): string {
  return page('error: lenet-sweep', `<h1>${escapeHtml(heading)}</h1>\n<p>${escapeHtml(message)}</p>\n<p><a href="/">All sweeps</a></p>`);
}

/** The most trials a compare page shows side by side. */
export const COMPARE_MOST = 8;

/** Where the compare page of some trials of a sweep is. */
export const comparePath = (sweep: string, ids: string[]) => `${sweepPath(sweep)}/compare?trials=${ids.join(',')}`;

/**
 * Trials of a sweep side by side: their curves (the report's trial curves, one colour per trial)
 * and the table `sweep runs compare` prints (the config paths where they differ, their results).
 */
export function comparePage(sweep: string, trials: TrialRecord[], epochs: EpochRow[][]): string {
  const ids = trials.map((t) => t.id);
  const { rows, identical } = compareTrials(trials);
  const table = `<table class="compare"><thead><tr><th>field</th>${ids.map((id) => `<th>${id}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => {
      const differs = new Set(r.text).size > 1;
      return `<tr${differs ? ' class="differs"' : ''}><td>${escapeHtml(r.field)}</td>${r.text.map((t) => `<td class="n">${escapeHtml(t)}</td>`).join('')}</tr>`;
    }).join('') + '</tbody></table>';
  const spec = withDatasets(trialCurvesSpec(ids), { epochs: epochs.flatMap((rows, i) => rows.map((e) => ({ trial: ids[i], ...e }))), trials: [] });

  const body = `<p><a href="${escapeHtml(sweepPath(sweep))}">← sweep ${escapeHtml(sweep)}</a></p>
<h1>${trials.length} trials of ${escapeHtml(sweep)} side by side</h1>
<div id="curves" class="chart"></div>
<h2>Where they differ</h2>
${identical ? '<p class="muted">Their configs are identical (repeats of one trial?); only their results differ.</p>' : ''}${table}
<p class="muted">The same as <code>sweep runs compare ${ids.join(' ')}</code>. JSON of each: ${ids.map((id) => `<a href="/api/trials/${id}">${id}</a>`).join(', ')}</p>
${chartLibraries()}
<script type="application/json" id="spec">${scriptJson(spec)}</script>
<script>(function () {
  var el = document.getElementById('curves');
  vegaEmbed(el, JSON.parse(document.getElementById('spec').textContent), { actions: false, renderer: 'svg', tooltip: { theme: 'light' } })
    .then(function () { el.setAttribute('data-drawn', 'true'); }, function (err) { el.textContent = 'could not draw the curves: ' + err.message; console.error(err); });
})();</script>`;
  return page(`compare: ${ids.join(', ')}`, body);
}
