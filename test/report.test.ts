/**
 * `sweep report`, opened as a reader opens it: the real CLI writes the file from a real SQLite
 * database, and Debian's Chromium (through playwright-core) loads it from disk with every request
 * intercepted. The charts are counted in the SVG Vega drew; the leaderboard is sorted and a trial
 * opened by clicks. One database is synthetic (the real RunWriter with made-up metrics, 100
 * trials), one is a real tiny sweep whose checkpoints give the misclassified digits.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Trial } from '../src/config/experiment.js';
import { BoardLoader } from '../src/dashboard/board.js';
import { groupTrials, versusLeader } from '../src/dashboard/derive.js';
import { withReadOnly } from '../src/store/open.js';
import { cli, ROOT } from './cli-helpers.js';
import { tempDir } from './helpers.js';
import { writeRuns, type FakeTrial } from './runs-fixture.js';

const CHROMIUM = process.env.LENET_SWEEP_CHROMIUM ?? '/usr/bin/chromium';

const RANDOM_SWEEP = `
name: big-random
metric: { name: val_acc, goal: maximize }
training: { epochs: 10 }
sweep:
  method: random
  count: 100
  seed: 3
  parameters:
    optimizer.lr: { distribution: log_uniform_values, min: 0.0001, max: 0.1 }
    model.pooling: [avg, max]
    model.dropout: { distribution: uniform, min: 0, max: 0.5 }
    training.batch_size: [32, 64, 128]
  early_terminate: { type: median, n_warmup_steps: 2 }
`;

/** A made-up but plausible sweep: accuracy peaks at lr 1e-3, max pooling adds a little; some trials pruned, two failed. */
function randomPlan(trial: Trial, i: number): FakeTrial {
  const lr = trial.params['optimizer.lr'] as number;
  const ceiling = 0.985 - 0.02 * Math.abs(Math.log10(lr) + 3) + (trial.params['model.pooling'] === 'max' ? 0.004 : 0);
  const curve = (epochs: number) => Array.from({ length: epochs }, (_, e) => ceiling - 0.3 * Math.exp(-(e + 1) / 1.5) + 0.002 * Math.sin(i + e));
  if (i % 37 === 5) return { status: 'failed', valAcc: curve(1), error: 'worker crashed' };
  if (i % 4 === 1) return { status: 'pruned', valAcc: curve(2 + (i % 3)), pruneReason: 'below the median of epoch 2' };
  const confusion = Array.from({ length: 10 }, (_, a) => Array.from({ length: 10 }, (_, p) => (a === p ? 95 : (a + p + i) % 7 === 0 ? 2 : 0)));
  return { status: 'completed', valAcc: curve(10), testAcc: ceiling - 0.003, confusion };
}

let browser: Browser;
let dir: string;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  dir = tempDir('lenet-sweep-report-');
});

afterAll(async () => {
  await browser?.close();
});

interface Opened {
  page: Page;
  /** Console errors and warnings, and uncaught page errors. */
  problems: string[];
  /** Every URL the page asked for. */
  requests: string[];
  /** Milliseconds from navigation until every chart of every sweep was drawn. */
  renderMs: number;
}

/** Opens a report file as a reader would, recording what it logs and asks for; every request but the file itself is refused. */
async function open(file: string, viewport = { width: 1400, height: 1000 }): Promise<Opened> {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  const url = `file://${file}`;
  await page.route('**/*', (route) => {
    requests.push(route.request().url());
    return route.request().url() === url ? route.continue() : route.abort();
  });
  const start = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => [...document.querySelectorAll('section.sweep')].every((s) => s.getAttribute('data-ready') === 'true'), null, { timeout: 30_000 });
  return { page, problems, requests, renderMs: Date.now() - start };
}

/** Per chart: its mark groups' classes and how many marks each holds (Vega's SVG: g.role-mark > one element per mark). */
function marks(page: Page, chart: string, kind: string, layer?: number): Promise<{ groups: number; items: number }> {
  return page.evaluate(
    ([chart, kind, layer]) => {
      const svg = document.querySelector(`.chart[data-chart="${chart}"] svg`);
      if (!svg) return { groups: -1, items: -1 };
      const groups = [...svg.querySelectorAll(`g.mark-${kind}.role-mark`)].filter((g) => layer === null || g.classList.contains(`layer_${layer}_marks`));
      return { groups: groups.length, items: groups.reduce((n, g) => n + g.children.length, 0) };
    },
    [chart, kind, layer ?? null] as const,
  );
}

describe('sweep report of a 100-trial adaptive sweep (synthetic database)', () => {
  let db: string;
  let out: string;
  let opened: Opened;
  let trials: Trial[];

  beforeAll(async () => {
    const runs = writeRuns(RANDOM_SWEEP, randomPlan);
    db = runs.db;
    trials = runs.trials;
    out = join(dir, 'big.html');
    const r = await cli('report', '--db', db, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*big\.html \(\d\.\d\d MB\): sweep big-random, 100 trials/);
    opened = await open(out);
    console.log(`report of 100 trials: ${(statSync(out).size / 1e6).toFixed(2)} MB, drawn in ${opened.renderMs} ms`);
  }, 90_000);

  it('is one file under 3 MB that asks for nothing but itself and logs no error or warning', () => {
    expect(trials).toHaveLength(100);
    expect(statSync(out).size).toBeLessThan(3e6);
    expect(opened.requests).toEqual([`file://${out}`]);
    expect(opened.problems).toEqual([]);
    const html = readFileSync(out, 'utf8');
    // Nothing fetched from anywhere, even where the CSP would have stopped it.
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|@import|url\(http/);
  });

  it('draws one learning curve per trial that has an epoch, in each of the three panels', async () => {
    const withEpochs = 100; // every trial of the plan trained at least one epoch
    for (const chart of ['curves-metric', 'curves-val_loss', 'curves-train_loss']) {
      expect((await marks(opened.page, chart, 'line', 0)).groups).toBe(withEpochs);
      // The leader, drawn again on top.
      expect((await marks(opened.page, chart, 'line', 1)).groups).toBe(1);
    }
    // A cross where each pruned trial stopped.
    const pruned = trials.filter((_, i) => i % 37 !== 5 && i % 4 === 1).length;
    expect((await marks(opened.page, 'curves-metric', 'symbol', 2)).items).toBe(pruned);
    // A line of one point draws nothing: the failed trials, which ended after one epoch, are dots.
    const single = trials.filter((_, i) => i % 37 === 5).length;
    expect(single).toBe(3);
    expect((await marks(opened.page, 'curves-metric', 'symbol', 3)).items).toBe(single);
  });

  it('draws an axis per swept parameter in the parallel coordinates, a scatter per parameter, a bar per parameter for importance', async () => {
    const params = 4;
    // One rule per parameter plus the metric's; one line per trial with a value.
    expect((await marks(opened.page, 'parallel', 'rule', 0)).items).toBe(params + 1);
    expect((await marks(opened.page, 'parallel', 'line', 1)).groups).toBe(100);
    for (const p of ['optimizer.lr', 'model.pooling', 'model.dropout', 'training.batch_size']) expect((await marks(opened.page, `scatter-${p}`, 'symbol')).items).toBe(100);
    expect((await marks(opened.page, 'importance', 'rect', 0)).items).toBe(params);
    // A log axis for the log-distributed learning rate, not for the uniform dropout, though its draws span 100×.
    expect(await opened.page.locator('.chart[data-chart="scatter-optimizer.lr"] svg').textContent()).toContain('optimizer.lr (log)');
    const dropout = await opened.page.locator('.chart[data-chart="scatter-model.dropout"] svg').textContent();
    expect(dropout).toContain('model.dropout');
    expect(dropout).not.toContain('(log)');
    const method = await opened.page.locator('.chart[data-chart="importance"] svg').textContent();
    expect(method).toContain('permutation importance');
  });

  it('ranks parameters by importance with the learning rate first (it alone decides the made-up accuracy, with pooling a little)', () => {
    const html = readFileSync(out, 'utf8');
    const data = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]);
    const bars = data.sweeps[0].charts.importance.layer[0];
    expect(bars).toBeTruthy();
    const order = data.sweeps[0].charts.importance.layer[0].encoding.y.sort as string[];
    expect(order[0]).toBe('optimizer.lr');
  });

  it('shows best-so-far by trial and by time, where the rule stopped trials, and the best trial\'s confusion matrix', async () => {
    const withValue = withReadOnly(db, (conn) => (conn.prepare(`SELECT count(*) AS n FROM trials WHERE best_value IS NOT NULL`).get() as { n: number }).n);
    expect(withValue).toBeGreaterThan(90);
    expect((await marks(opened.page, 'best-by-trial', 'symbol', 0)).items).toBe(withValue);
    expect((await marks(opened.page, 'best-by-trial', 'line', 1)).groups).toBe(1);
    expect((await marks(opened.page, 'best-by-time', 'line', 1)).groups).toBe(1);
    // Pruned after epochs 2, 3 and 4: three bars.
    expect((await marks(opened.page, 'stops', 'rect')).items).toBe(3);
    expect((await marks(opened.page, 'confusion', 'rect', 0)).items).toBe(100);
    // No checkpoints in a synthetic database: the report says why there are no digit images.
    expect(await opened.page.locator('section.sweep').first().textContent()).toContain('misclassified digits not drawn');
  });

  it('sorts the leaderboard on a click (missing values last both ways) and opens a trial with its curves', async () => {
    const { page } = opened;
    const column = async (key: string) => {
      const index = await page.locator('table.leaderboard th[data-key]').evaluateAll((ths, key) => ths.findIndex((th) => th.getAttribute('data-key') === key), key);
      return page.locator('table.leaderboard tbody tr.trial').evaluateAll((rows, i) => rows.map((r) => (r as HTMLTableRowElement).cells[i].getAttribute('data-value')!), index);
    };
    const ranks = await column('rank');
    expect(ranks.slice(0, 3)).toEqual(['1', '2', '3']);
    await page.click('table.leaderboard th[data-key="test_acc"]');
    let values = await column('test_acc');
    const present = values.filter((v) => v !== '').map(Number);
    expect(present).toEqual([...present].sort((a, b) => a - b));
    expect(values.slice(present.length).every((v) => v === '')).toBe(true);
    await page.click('table.leaderboard th[data-key="test_acc"]');
    values = await column('test_acc');
    expect(values.filter((v) => v !== '').map(Number)).toEqual([...present].sort((a, b) => b - a));
    expect(values.slice(present.length).every((v) => v === '')).toBe(true);
    // Back to rank order, then open the leader.
    await page.click('table.leaderboard th[data-key="rank"]');
    expect((await column('rank')).slice(0, 2)).toEqual(['1', '2']);
    const leader = page.locator('table.leaderboard tr.trial').first();
    const id = await leader.getAttribute('data-trial');
    await leader.click();
    const detail = page.locator('table.leaderboard tr.trial').first().locator('xpath=following-sibling::tr[1]');
    expect(await detail.isVisible()).toBe(true);
    expect(await detail.locator('pre.config').textContent()).toContain('lr:');
    await page.waitForSelector(`.chart[data-trial="${id}"][data-drawn="true"] svg`);
    // Training and validation, loss and accuracy: four lines of the one trial.
    expect(await detail.locator('svg g.mark-line.role-mark').count()).toBe(4);
    await leader.click();
    expect(await detail.isHidden()).toBe(true);
  });

  it('tells a point\'s values on hover', async () => {
    const { page } = opened;
    const point = page.locator('.chart[data-chart="scatter-optimizer.lr"] svg g.mark-symbol path').first();
    await point.scrollIntoViewIfNeeded();
    await point.hover({ force: true });
    const tooltip = page.locator('#vg-tooltip-element');
    await tooltip.waitFor({ state: 'visible', timeout: 5_000 });
    const text = (await tooltip.textContent()) ?? '';
    expect(text).toMatch(/trial\s*[0-9a-f]{12}/);
    expect(text).toContain('optimizer.lr');
    expect(text).toContain('val_acc');
  });

  it('recolours the learning curves by the parameter picked', async () => {
    const { page } = opened;
    await page.selectOption('section.sweep select.color-by', 'model.pooling');
    // Redrawn with the new legend.
    await page.waitForFunction(() => document.querySelector('.chart[data-chart="curves-metric"][data-drawn="true"] svg')?.textContent?.includes('model.pooling'));
    expect((await marks(page, 'curves-metric', 'line', 0)).groups).toBe(100);
    const shot = join(dir, 'big.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(50_000);
    expect(opened.problems).toEqual([]);
  });
});

describe('sweep report of repeats over seeds', () => {
  it('shows each configuration\'s mean ± sd, confidence interval and the dashboard\'s Welch/Holm verdicts', async () => {
    const accs: Record<string, number[]> = { avg: [0.971, 0.973, 0.972, 0.970], max: [0.981, 0.982, 0.980, 0.983] };
    const { db } = writeRuns(
      `name: seeds\nmetric: { name: val_acc, goal: maximize }\ntraining: { epochs: 2 }\nsweep:\n  repeats: 4\n  parameters:\n    model.pooling: [avg, max]\n`,
      (trial) => {
        const acc = accs[trial.params['model.pooling'] as string].shift()!;
        return { status: 'completed', valAcc: [acc - 0.01, acc], testAcc: acc };
      },
    );
    const out = join(dir, 'seeds.html');
    expect((await cli('report', '--db', db, '--out', out)).code).toBe(0);
    const { page, problems } = await open(out);
    const rows = await page.locator('table.groups tbody tr').allTextContents();
    const expected = withReadOnly(db, (conn) => groupTrials(new BoardLoader(conn, 'seeds').load()));
    expect(rows).toHaveLength(2);
    expected.forEach((g, i) => {
      expect(rows[i]).toContain(g.params['model.pooling']);
      expect(rows[i]).toContain(versusLeader(g));
    });
    expect(rows[0]).toContain('leader');
    expect(rows[1]).toMatch(/worse \(p[=<]0\.0\d+\)/);
    // Mean of max pooling 98.15% ± 0.13%; its 95% CI from Student's t with 3 degrees of freedom (3.182).
    expect(rows[0]).toContain('98.15 ± 0.13%');
    expect(rows[0]).toContain('97.94% … 98.36%');
    expect((await marks(page, 'groups', 'symbol', 0)).items).toBe(8);
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('sweep report of a real sweep, and the same plots as PNG files', () => {
  let db: string;

  beforeAll(async () => {
    db = join(dir, 'smoke.db');
    const r = await cli(join(ROOT, 'experiments', 'smoke.yaml'), '--db', db, '--no-tui');
    expect(r.code).toBe(0);
  }, 120_000);

  it('draws the best trial\'s misclassified test digits from its checkpoint', async () => {
    const out = join(dir, 'smoke.html');
    const r = await cli('report', '--db', db, '--out', out);
    expect(r.code).toBe(0);
    const { page, problems, requests } = await open(out);
    expect(problems).toEqual([]);
    expect(requests).toHaveLength(1);
    const digits = page.locator('.digits img');
    expect(await digits.count()).toBeGreaterThan(0);
    // Each is a real 28×28 image the browser decoded.
    const sizes = await digits.evaluateAll((imgs) => imgs.map((i) => `${(i as HTMLImageElement).naturalWidth}x${(i as HTMLImageElement).naturalHeight}`));
    expect(new Set(sizes)).toEqual(new Set(['28x28']));
    // The caption agrees with the confusion matrix: an actual → predicted pair that has errors.
    const caption = await page.locator('.digits figcaption').first().textContent();
    const [actual, predicted] = caption!.split(' → ').map(Number);
    expect(actual).not.toBe(predicted);
    await page.close();
  }, 60_000);

  it('writes every chart as a PNG with --png, and runs show/compare --plot', async () => {
    const pngs = join(dir, 'pngs');
    const r = await cli('report', '--db', db, '--png', pngs);
    expect(r.code).toBe(0);
    expect(existsSync('report.html')).toBe(false); // --png alone writes no HTML
    const files = readdirSync(pngs).sort();
    expect(files).toEqual(expect.arrayContaining(['smoke-curves-metric.png', 'smoke-confusion.png', 'smoke-parallel.png', 'smoke-scatter-model.pooling.png']));
    for (const f of files) expect(readFileSync(join(pngs, f)).subarray(1, 4).toString()).toBe('PNG');
    // Again without --force: refused, nothing replaced.
    const again = await cli('report', '--db', db, '--png', pngs);
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);

    const ids = JSON.parse((await cli('runs', 'list', '--db', db, '--json')).stdout).map((t: { id: string }) => t.id);
    const show = join(dir, 'show.png');
    expect((await cli('runs', 'show', ids[0], '--db', db, '--plot', show)).code).toBe(0);
    const compare = join(dir, 'compare.png');
    expect((await cli('runs', 'compare', ids[0], ids[1], '--db', db, '--plot', compare)).code).toBe(0);
    for (const f of [show, compare]) expect(readFileSync(f).subarray(1, 4).toString()).toBe('PNG');
    // Two trials side by side are wider than one.
    expect(readFileSync(compare).readUInt32BE(16)).toBeGreaterThan(readFileSync(show).readUInt32BE(16));
  }, 60_000);
});

describe('sweep report: bad input is one line, exit 2, nothing written', () => {
  let db: string;

  beforeAll(() => {
    db = writeRuns(`name: pooling\nsweep:\n  parameters:\n    model.pooling: [avg, max]\n`, () => ({ status: 'completed', valAcc: [0.9], testAcc: 0.9 })).db;
  });

  const refused = async (args: string[], message: RegExp) => {
    const r = await cli('report', '--db', db, ...args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    return r;
  };

  it('an unknown sweep, with the nearest names', async () => {
    const out = join(dir, 'unknown.html');
    await refused(['--sweep', 'poling', '--out', out], /no sweep named 'poling'.*did you mean 'pooling'/);
    expect(existsSync(out)).toBe(false);
  });

  it('an output that exists without --force, a folder that does not exist, a folder as the output', async () => {
    const out = join(dir, 'exists.html');
    writeFileSync(out, 'keep me');
    await refused(['--out', out], /already exists; give another path, or --force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    expect((await cli('report', '--db', db, '--out', out, '--force')).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/);
    await refused(['--out', join(dir, 'no-such-folder', 'r.html')], /the folder .*no-such-folder does not exist/);
    mkdirSync(join(dir, 'a-folder'));
    await refused(['--out', join(dir, 'a-folder')], /is a folder/);
    await refused(['--png', out], /is a file/);
    // Places nothing can be made in, though root may write there by access(): found out before
    // the charts are drawn, not as fs's raw ENOENT after them.
    await refused(['--png', '/proc/lenet-sweep-charts'], /^\/proc\/lenet-sweep-charts: --png: cannot be written \(nothing can be made in \/proc\); give another path\n$/);
    await refused(['--out', '/proc/report.html'], /^\/proc\/report.html: --out: cannot be written \(nothing can be made in \/proc\); give another path\n$/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('several sweeps side by side, each drawn; a second --sweep of the same name counts once', async () => {
    writeRuns(`name: pooling-seeds\nsweep:\n  repeats: 2\n  parameters:\n    model.pooling: [avg, max]\n`, (_, i) => ({ status: 'completed', valAcc: [0.9, 0.91 + i / 100], testAcc: 0.9 }), { db });
    const out = join(dir, 'both.html');
    const r = await cli('report', '--db', db, '--sweep', 'pooling', '--sweep', 'pooling-seeds', '--sweep', 'pooling', '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('sweeps pooling, pooling-seeds, 6 trials');
    const { page, problems } = await open(out);
    expect(await page.locator('section.sweep h2').allTextContents()).toEqual(['sweep pooling', 'sweep pooling-seeds']);
    expect(await page.locator('section.sweep[data-ready="true"]').count()).toBe(2);
    expect((await page.locator('section.sweep').nth(1).locator('.chart[data-chart="curves-metric"] svg g.mark-line.layer_0_marks').count())).toBe(4);
    expect(await page.locator('section.sweep').nth(1).locator('table.groups tbody tr').count()).toBe(2);
    // Trials are numbered within their sweep (best so far by trial), not by their row among every sweep's.
    const orders = await page.evaluate(() => JSON.parse(document.getElementById('report-data')!.textContent!).sweeps.map((s: { datasets: { trials: { order: number }[] } }) => s.datasets.trials.map((t) => t.order).sort()));
    expect(orders).toEqual([[1, 2], [1, 2, 3, 4]]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a sweep with no completed trial still gets a report that says so', async () => {
    const { db: empty } = writeRuns(`name: early\nsweep:\n  parameters:\n    model.pooling: [avg, max]\n`, () => ({ status: 'running', valAcc: [], progress: { epoch: 1, batch: 3 } }), { sweepStatus: 'running' });
    const out = join(dir, 'early.html');
    const r = await cli('report', '--db', empty, '--out', out);
    expect(r.code).toBe(0);
    const { page, problems } = await open(out);
    expect(await page.locator('section.sweep .note').first().textContent()).toContain("No best trial: sweep 'early' has no completed trial (2 running).");
    expect(await page.locator('section.sweep').textContent()).toContain('No epoch has finished yet');
    expect(await page.locator('table.leaderboard tr.trial').count()).toBe(2);
    expect(problems).toEqual([]);
    await page.close();
    // Nothing to plot yet: refused, no image.
    const id = JSON.parse((await cli('runs', 'list', '--db', empty, '--json')).stdout)[0].id;
    const plot = join(dir, 'early.png');
    const r2 = await cli('runs', 'show', id, '--db', empty, '--plot', plot);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/^--plot: trial \w+ has no finished epoch to plot \(running\)\n$/);
    expect(existsSync(plot)).toBe(false);
  });

  it('--force replaces a file, never a link or a device', async () => {
    const target = join(dir, 'target.html');
    writeFileSync(target, 'keep me');
    const link = join(dir, 'link.html');
    symlinkSync(target, link);
    await refused(['--out', link, '--force'], /--out: is a link to .*target\.html, not a file; give another path \(--force replaces only a file\)\n$/);
    await refused(['--out', '/dev/null', '--force'], /--out: is a character device, not a file/);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    await refused(['--out', join(target, 'r.html')], /target\.html is not a folder/);
  });

  it('--png and --plot never replace a FIFO or a device of their names, --force or not', async () => {
    const pngs = join(dir, 'pngs-with-a-fifo');
    mkdirSync(pngs);
    const fifo = join(pngs, 'pooling-curves-metric.png');
    execFileSync('mkfifo', [fifo]);
    await refused(['--sweep', 'pooling', '--png', pngs, '--force'], /pooling-curves-metric\.png: --png: is a FIFO \(named pipe\), not a file; give another path/);
    expect(readdirSync(pngs)).toEqual(['pooling-curves-metric.png']);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    const ids = JSON.parse((await cli('runs', 'list', '--db', db, '--json')).stdout).map((t: { id: string }) => t.id);
    const targets = [join(dir, 'plot-fifo.png')];
    execFileSync('mkfifo', [targets[0]]);
    // A device made in a temp folder (never /dev): mknod needs root.
    if (process.getuid?.() === 0) {
      targets.push(join(dir, 'plot-device.png'));
      execFileSync('mknod', ['-m', '666', targets[1], 'c', '1', '3']);
    }
    for (const target of targets) {
      for (const args of [['show', ids[0]], ['compare', ids[0], ids[1]]]) {
        const r = await cli('runs', ...args, '--db', db, '--plot', target, '--force');
        expect([r.code, r.stderr], `runs ${args[0]} --plot ${target}`).toEqual([2, `${target}: --plot: is a ${target.endsWith('fifo.png') ? 'FIFO (named pipe)' : 'character device'}, not a file; give another path (--force replaces only a file)\n`]);
      }
    }
    expect(lstatSync(targets[0]).isFIFO()).toBe(true);
    if (targets[1]) expect(lstatSync(targets[1]).isCharacterDevice()).toBe(true);
  });
});
