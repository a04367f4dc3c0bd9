/**
 * `sweep serve` as a person runs it: the real CLI as a child process on a free port, real HTTP
 * requests against it, real sweeps written by other processes while it serves, real pages in
 * Chromium: the index, each sweep's report page following its sweep live, the compare page, the
 * JSON API and its cursors, what it refuses, and that it never changes the database.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { chromium, type Browser, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { isLoopback } from '../src/serve/server.js';
import { cli, startCli, type CliResult } from './cli-helpers.js';
import { tempDir } from './helpers.js';
import { smallDigits } from './small-digits.js';

const DIGITS = smallDigits(256, 64);
const CHROMIUM = process.env.LENET_SWEEP_CHROMIUM ?? '/usr/bin/chromium';

function experiment(dir: string, name: string, epochs = 1): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}\ndata: { dataset: idx, dir: ${DIGITS}, validation: 0.25 }\ntraining: { epochs: ${epochs}, batch_size: 32, limit_train: 64 }\n` +
      `sweep:\n  parameters:\n    model.pooling: [avg, max]\n`,
  );
  return file;
}

/** A folder for a test's files and the database path in it (made by the first sweep). */
function freshDatabase(): { dir: string; db: string } {
  const dir = tempDir();
  return { dir, db: join(dir, 'runs.db') };
}

/** Runs the sweep `name` (two trials, `epochs` each) into `db` through the CLI, as another process would. */
async function sweep(dir: string, db: string, name: string, epochs = 1): Promise<void> {
  const r = await cli(experiment(dir, name, epochs), '--db', db, '--no-tui');
  expect(r.code, r.stderr).toBe(0);
}

/** Runs `sweep serve` on `db` while `use` asks it things, then stops it with `signal`. */
async function serving(db: string, use: (url: string) => Promise<void>, { args = [] as string[], signal = 'SIGINT' as NodeJS.Signals } = {}): Promise<CliResult> {
  let started: (value: { url: string; child: ChildProcess }) => void;
  const up = new Promise<{ url: string; child: ChildProcess }>((resolve) => (started = resolve));
  const result = startCli(['serve', '--db', db, '--port', '0', ...args], (out, child) => {
    const url = /at (http:\/\/\S+) \(Ctrl-C to stop\)/.exec(out)?.[1];
    if (url) started({ url, child });
  });
  const { url, child } = await Promise.race([up, result.then((r) => Promise.reject(new Error(`sweep serve ended: ${r.code} ${r.stdout}${r.stderr}`)))]);
  try {
    await use(url);
  } finally {
    child.kill(signal);
  }
  return result;
}

/** `sweep serve` on `db` (as `serving` runs it) with a headless Chromium to look at it, closed afterwards; Ctrl-C ends the server with 130. */
async function servingInChromium(db: string, use: (url: string, browser: Browser) => Promise<void>): Promise<void> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const r = await serving(db, (url) => use(url, browser));
    expect(r.code, r.stderr).toBe(130);
  } finally {
    await browser.close();
  }
}

/** Waits until the page's sweep section has drawn every chart. */
const drawn = (page: Page) => page.waitForFunction(() => document.querySelector('section.sweep')?.getAttribute('data-ready') === 'true', null, { timeout: 30_000 });

const getJson = async (url: string) => {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};
/** What a page says is wrong (console errors and warnings, uncaught errors) and every request it makes, from now on. */
function watch(page: Page, seen = { problems: [] as string[], requests: [] as string[] }): { problems: string[]; requests: string[] } {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') seen.problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => seen.problems.push(`page error: ${e.message}`));
  page.on('request', (req) => seen.requests.push(req.url()));
  return seen;
}

/** Waits until `done` says yes (asked every 100 ms), for at most `ms`. */
async function until(done: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > end) throw new Error('waited too long');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('sweep serve', () => {
  it('serves the index, each sweep\'s report and the API over a database it leaves as it was; Ctrl-C ends it with 130', async () => {
    const { dir, db } = freshDatabase();
    for (const name of ['first', 'second']) await sweep(dir, db, name);
    const before = sha(db);
    const r = await serving(db, async (url) => {
      const index = await fetch(url);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
      const page = await index.text();
      expect(page).toContain('href="/sweeps/first"');
      expect(page).toContain('href="/sweeps/second"');

      const report = await fetch(`${url}sweeps/first`);
      expect(report.status).toBe(200);
      const html = await report.text();
      expect(html).toContain('lenet-sweep report: first');
      expect(html).toContain('id="report-data"');

      const sweeps = await getJson(`${url}api/sweeps`);
      expect(sweeps.status).toBe(200);
      expect((sweeps.body as unknown as { name: string; trials: number }[]).map((s) => [s.name, s.trials]).sort()).toEqual([['first', 2], ['second', 2]]);
      const one = await getJson(`${url}api/sweeps/first`);
      const trials = one.body.trials as { id: string; status: string }[];
      expect(trials.map((t) => t.status)).toEqual(['completed', 'completed']);

      // Epochs from a cursor: all of them from 0, none after the last, the sweep's own only.
      const all = await getJson(`${url}api/sweeps/first/epochs?after=0`);
      const epochs = all.body.epochs as { cursor: number; trial_id: string }[];
      expect(epochs).toHaveLength(2);
      expect(new Set(epochs.map((e) => e.trial_id))).toEqual(new Set(trials.map((t) => t.id)));
      expect(all.body.cursor).toBe(epochs[1].cursor);
      expect(all.body.more).toBe(false);
      expect((await getJson(`${url}api/sweeps/first/epochs?after=${all.body.cursor}`)).body.epochs).toEqual([]);
      const trial = await getJson(`${url}api/trials/${trials[0].id.slice(0, 6)}`);
      expect([trial.status, (trial.body.trial as { id: string }).id, (trial.body.epochs as unknown[]).length]).toEqual([200, trials[0].id, 1]);
    });
    expect(r.code, r.stdout + r.stderr).toBe(130);
    expect(r.stderr).toBe('');
    expect(sha(db)).toBe(before);
    expect(existsSync(`${db}-wal`) || existsSync(`${db}-shm`)).toBe(false);
  }, 60_000);

  it('in Chromium: a sweep run elsewhere appears on the open index; its link opens the report, which draws every chart; no console error, no request leaves the server', async () => {
    const { dir, db } = freshDatabase();
    await sweep(dir, db, 'pooling', 2);
    await servingInChromium(db, async (url, browser) => {
      const page = await browser.newPage();
      const { problems, requests } = watch(page);
      await page.goto(url);
      // A sweep started in another process appears on the open index, without a reload.
      await page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));
      expect(await page.locator('a[href="/sweeps/later"]').count()).toBe(0);
      await sweep(dir, db, 'later');
      await page.waitForSelector('a[href="/sweeps/later"]', { timeout: 15_000 });
      expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
      await page.click('a[href="/sweeps/pooling"]');
      await drawn(page);
      expect(await page.locator('.chart[data-chart="curves-metric"] svg').count()).toBe(1);
      expect(await page.locator('table.leaderboard tr.trial').count()).toBe(2);
      // A live change while the curves are off screen leaves them to be drawn when they come into view.
      const points = () => page.evaluate(() => [...document.querySelectorAll('.chart[data-chart="curves-metric"] .layer_0_marks path')].reduce((n, p) => n + ((p.getAttribute('d') ?? '').match(/[ML]/g) ?? []).length, 0));
      expect(await points()).toBe(4);
      await page.setViewportSize({ width: 1280, height: 200 });
      await page.evaluate(() => window.scrollTo(0, 0));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await page.evaluate(() => {
        const section = (window as unknown as { lenetReport: { sections: { sweep: { datasets: { epochs: { trial: string; leader: boolean }[] }; charts: Record<string, unknown> }; patch: (ids: string[], tables: unknown, charts: unknown) => Promise<void> }[] } }).lenetReport.sections[0];
        // The trial that does not lead: the leader's layer keeps its line.
        const gone = section.sweep.datasets.epochs.find((e) => !e.leader)!.trial;
        return section.patch([gone], { epochs: [], trials: [] }, section.sweep.charts);
      });
      expect(await points()).toBe(4);
      await page.locator('.chart[data-chart="curves-metric"]').scrollIntoViewIfNeeded();
      await page.waitForFunction(() => [...document.querySelectorAll('.chart[data-chart="curves-metric"] .layer_0_marks path')].reduce((n, p) => n + ((p.getAttribute('d') ?? '').match(/[ML]/g) ?? []).length, 0) === 2, null, { timeout: 10_000 });
      await page.setViewportSize({ width: 1280, height: 720 });
      // Two trials ticked open their compare page: their curves side by side and where their configs differ.
      await page.locator('input.choose').nth(0).click();
      expect(await page.locator('a.compare-chosen').getAttribute('href')).toBeNull();
      await page.locator('input.choose').nth(1).click();
      expect(await page.locator('tr.trial[aria-expanded="true"]').count()).toBe(0);
      const [compare] = await Promise.all([page.waitForEvent('popup'), page.click('a.compare-chosen')]);
      watch(compare, { problems, requests });
      await compare.waitForSelector('#curves[data-drawn="true"] svg', { timeout: 30_000 });
      expect(await compare.locator('table.compare tr.differs td:first-child').allTextContents()).toContain('model.pooling');
      expect(problems).toEqual([]);
      expect(requests.length).toBeGreaterThanOrEqual(2);
      expect(requests.filter((u) => !u.startsWith(url))).toEqual([]);
    });
  }, 90_000);

  it('in Chromium: the page of a running sweep updates itself, with no reload: its curves grow, a trial pruned by the rule shows its ×, the reader\'s sort and open detail stay', async () => {
    const { dir, db } = freshDatabase();
    await sweep(dir, db, 'first');
    // Six trials one after another, weak ones after strong ones, so that the median rule prunes some while the page watches.
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, `name: rules\ntraining: { epochs: 6, batch_size: 64, seed: 1, limit_train: 3000 }\nsweep:\n  parameters:\n    optimizer.lr: [0.003, 0.005, 0.004, 0.0003, 0.0002, 0.0001]\n  early_terminate: { type: median, n_startup_trials: 2 }\n`);
    await servingInChromium(db, async (url, browser) => {
      const running = cli(file, '--db', db, '--no-tui', '--workers', '1');
      await until(async () => ((await getJson(`${url}api/sweeps`)).body as unknown as { name: string }[]).some((s) => s.name === 'rules'));
      const page = await browser.newPage();
      const { problems, requests } = watch(page);
      // Tall enough that the curves are on screen while they change (off screen, they would be drawn again when seen).
      await page.setViewportSize({ width: 1280, height: 2400 });
      await page.goto(`${url}sweeps/rules`);
      await drawn(page);
      await page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));
      const marks = () => page.evaluate(() => {
        const svg = document.querySelector('.chart[data-chart="curves-metric"] svg');
        return {
          // Every point of every trial's line (the first layer; the leader's is drawn again over it), and the red crosses where the rule stopped a trial.
          points: svg ? [...svg.querySelectorAll('.layer_0_marks path')].reduce((n, p) => n + ((p.getAttribute('d') ?? '').match(/[ML]/g) ?? []).length, 0) : 0,
          crosses: svg ? svg.querySelectorAll('path[stroke="#d62728"]').length : 0,
        };
      });
      const before = await marks();
      // The reader sorts by learning rate and opens the second trial's detail while the sweep runs.
      await page.click('th[data-key="param:optimizer.lr"]');
      const opened = await page.locator('tr.trial').nth(1).getAttribute('data-trial');
      await page.click(`tr.trial[data-trial="${opened}"]`);
      const ticked = await page.locator('tr.trial').nth(0).getAttribute('data-trial');
      await page.locator(`tr.trial[data-trial="${ticked}"] input.choose`).click();
      const result = await running;
      expect(result.code, result.stderr).toBe(0);
      const trials = ((await getJson(`${url}api/sweeps/rules`)).body.trials as { id: string; status: string; epochs: number }[]);
      const pruned = trials.filter((t) => t.status === 'pruned');
      expect(pruned.length).toBeGreaterThan(0);
      // The sweep's end reaches the page: its summary says completed.
      await page.waitForFunction(() => /status\s*completed/.test(document.querySelector('dl.summary')?.textContent ?? ''), null, { timeout: 20_000 });
      await page.waitForFunction((n) => document.querySelectorAll('.chart[data-chart="curves-metric"] svg path[stroke="#d62728"]').length === n, pruned.length, { timeout: 10_000 });
      const after = await marks();
      expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
      expect(before.crosses).toBeLessThan(pruned.length);
      expect(after.crosses).toBe(pruned.length);
      expect(after.points).toBeGreaterThan(before.points);
      expect(after.points).toBe(trials.reduce((n, t) => n + t.epochs, 0));
      expect(await page.evaluate(() => (window as unknown as { lenetLive: { patched: number } }).lenetLive.patched)).toBeGreaterThan(0);
      // The sort and the open detail survived every update.
      expect(await page.getAttribute('th[data-key="param:optimizer.lr"]', 'aria-sort')).toBe('ascending');
      const rates = await page.locator('tr.trial td:nth-child(3)').allTextContents();
      expect(rates).toEqual([...rates].sort((a, b) => Number(a) - Number(b)));
      expect(await page.getAttribute(`tr.trial[data-trial="${opened}"]`, 'aria-expanded')).toBe('true');
      expect(await page.locator(`tr.trial[data-trial="${opened}"] + tr.detail`).isHidden()).toBe(false);
      expect(await page.locator(`tr.trial[data-trial="${opened}"] + tr.detail .chart[data-drawn="true"] svg`).count()).toBe(1);
      expect(await page.locator('tr.trial').count()).toBe(6);
      // The trial chosen to compare is still chosen, in whatever row shows it now.
      expect(await page.locator('tr.trial:has(input.choose:checked)').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-trial')))).toEqual([ticked]);
      // Settled: the page asks only whether anything changed, and takes nothing again whole.
      const settled = requests.length;
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const later = requests.slice(settled);
      expect(later.length).toBeGreaterThan(0);
      expect(later.filter((u) => !u.includes('/api/sweeps/rules/live?after='))).toEqual([]);
      expect(problems).toEqual([]);
      expect(requests.filter((u) => !u.startsWith(url))).toEqual([]);
    });
  }, 150_000);

  it('in Chromium: a sweep killed with SIGKILL, which writes nothing more, is shown killed on its open page', async () => {
    const { dir, db } = freshDatabase();
    await sweep(dir, db, 'first');
    const file = join(dir, 'long.yaml');
    writeFileSync(file, `name: long\ntraining: { epochs: 30, batch_size: 64, seed: 1, limit_train: 2000 }\nsweep:\n  parameters:\n    optimizer.lr: [0.003, 0.001]\n`);
    await servingInChromium(db, async (url, browser) => {
      let child: ChildProcess | undefined;
      const running = startCli([file, '--db', db, '--no-tui'], undefined, {}, { onStart: (c) => (child = c) });
      await until(async () => ((await getJson(`${url}api/sweeps/long`)).body.trials as { epochs: number }[] | undefined)?.some((t) => t.epochs > 0) ?? false);
      const page = await browser.newPage();
      const { problems } = watch(page);
      await page.goto(`${url}sweeps/long`);
      await drawn(page);
      expect(await page.locator('dl.summary').textContent()).toMatch(/status\s*running/);
      process.kill(-child!.pid!, 'SIGKILL');
      await running;
      await page.waitForFunction(() => /status\s*killed/.test(document.querySelector('dl.summary')?.textContent ?? ''), null, { timeout: 15_000 });
      expect((await page.locator('p.note').allTextContents()).some((n) => n.startsWith('The run of this sweep was killed before it finished'))).toBe(true);
      expect(problems).toEqual([]);
    });
  }, 120_000);

  it('answers a malformed cursor with 400; an unknown sweep, trial or path, and every path traversal, with 404; other hosts 403; writes 405', async () => {
    const { dir, db } = freshDatabase();
    await sweep(dir, db, 'pooling');
    const r = await serving(db, async (url) => {
      for (const cursor of ['x', '-1', '1.5', '1e3', '99999999999999999999', '']) {
        const bad = await getJson(`${url}api/sweeps/pooling/epochs?after=${encodeURIComponent(cursor)}`);
        expect([cursor, bad.status]).toEqual([cursor, 400]);
        expect(bad.body.error).toMatch(/^after: expected a cursor/);
      }
      for (const query of ['after=x', 'after=', 'after=-2', 'after=0&leader=../x', 'after=0&leader=ABC']) {
        const bad = await getJson(`${url}api/sweeps/pooling/live?${query}`);
        expect([query, bad.status]).toEqual([query, 400]);
      }
      expect((await getJson(`${url}api/sweeps/poling/live?after=0`)).status).toBe(404);
      // The live answer: nothing after the sweep's cursor; from 0, every trial with its rows.
      const everything = await getJson(`${url}api/sweeps/pooling/live?after=0`);
      const changes = everything.body.changes as { trials: string[]; order: [string, number][]; rows: string; tables: { epochs: unknown[] } };
      expect(changes.trials.sort()).toEqual(changes.order.map(([id]) => id).sort());
      expect(changes.rows.match(/<tr class="trial/g)).toHaveLength(2);
      expect(changes.tables.epochs).toHaveLength(2);
      expect((await getJson(`${url}api/sweeps/pooling/live?after=${everything.body.cursor}`)).body).toEqual({ cursor: everything.body.cursor });
      expect((await getJson(`${url}api/sweeps/pooling/live?after=${Number(everything.body.cursor) + 5}`)).body).toEqual({ cursor: everything.body.cursor, retake: true });
      // The compare page: 2 to 8 trials of the sweep, by id or prefix.
      const ids = ((await getJson(`${url}api/sweeps/pooling`)).body.trials as { id: string }[]).map((t) => t.id);
      const side = await fetch(`${url}sweeps/pooling/compare?trials=${ids[0]},${ids[1].slice(0, 6)}`);
      expect(side.status).toBe(200);
      expect(await side.text()).toMatch(/<tr class="differs"><td>model\.pooling<\/td><td class="n">(avg|max)<\/td>/);
      for (const [query, status] of [['', 400], [`trials=${ids[0]}`, 400], [`trials=${ids[0]},${ids[0]}`, 400], [`trials=${ids.join(',')},${'ab'.repeat(6)}`, 404], [`trials=${[...ids, ...ids, ...ids, ...ids, ids[0]].join(',')}`, 400]] as const) {
        expect([query, (await fetch(`${url}sweeps/pooling/compare?${query}`)).status]).toEqual([query, status]);
      }
      expect((await fetch(`${url}sweeps/poling/compare?trials=${ids.join(',')}`)).status).toBe(404);
      const unknown = await getJson(`${url}api/sweeps/poling`);
      expect([unknown.status, unknown.body.error]).toEqual([404, "no sweep named 'poling' (did you mean 'pooling'?)"]);
      expect((await getJson(`${url}api/trials/ffffffffffff`)).status).toBe(404);
      // Ids as a person may copy them: upper case too.
      const [trial] = ((await getJson(`${url}api/sweeps/pooling`)).body.trials as { id: string }[]);
      expect((await getJson(`${url}api/trials/${trial.id.toUpperCase()}`)).status).toBe(200);
      expect((await getJson(`${url}api/trials/not-an-id`)).status).toBe(404);
      expect((await getJson(`${url}api/nothing`)).status).toBe(404);
      const page = await fetch(`${url}sweeps/poling`);
      expect(page.status).toBe(404);
      expect(await page.text()).toContain('did you mean &#39;pooling&#39;?');
      const origin = new URL(url);
      // Sent as written (fetch would resolve the dots): through a raw socket.
      for (const path of ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/sweeps/..%2f..%2f..%2fetc%2fpasswd', '/api/..%2f..%2fetc%2fpasswd', '/sweeps/%E0%A4%A', '//etc/passwd', '/assets/../../package.json']) {
        const status = await rawStatus(origin, `GET ${path} HTTP/1.1\r\nHost: ${origin.host}\r\nConnection: close\r\n\r\n`);
        expect([path, status]).toEqual([path, path.includes('%E0%A4%A') ? 400 : 404]);
      }
      // A path that starts with // is a path, not an address: `//` is the index (URL threw: 500), `//x/sweeps/NAME` no route.
      for (const [target, status] of [['//', 200], ['///', 200], ['//[', 404], ['//x/sweeps/pooling', 404], ['//sweeps//pooling//', 200], ['*', 400]] as const) {
        expect([target, await rawStatus(origin, `GET ${target} HTTP/1.1\r\nHost: ${origin.host}\r\nConnection: close\r\n\r\n`)]).toEqual([target, status]);
      }
      expect(await rawStatus(origin, `GET /api/sweeps HTTP/1.1\r\nHost: attacker.example:${origin.port}\r\nConnection: close\r\n\r\n`)).toBe(403);
      expect((await fetch(`${url}api/sweeps`, { method: 'POST', body: 'x' })).status).toBe(405);
      expect((await fetch(`${url}favicon.ico`)).status).toBe(204);
    }, { signal: 'SIGTERM' });
    expect(r.code, r.stdout + r.stderr).toBe(143);
    expect(r.stderr).toBe('');
  }, 60_000);

  it('a stop signal while a large sweep\'s page is being made ends it at once, not once the page is whole', async () => {
    const { dir, db } = freshDatabase();
    await sweep(dir, db, 'large');
    // Copies of a real trial under new ids: a page that takes seconds to make.
    const conn = new Database(db);
    const columns = conn.prepare(`SELECT group_concat(name, ', ') FROM pragma_table_info('trial_records') WHERE name != 'id'`).pluck().get() as string;
    conn.exec(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 40000)
      INSERT INTO trial_records (id, ${columns}) SELECT printf('%012x', x), ${columns} FROM trial_records, c WHERE trial_records.id = (SELECT min(id) FROM trial_records)`);
    conn.close();
    let page: Promise<number | undefined> | undefined;
    let stoppedAt = 0;
    const r = await serving(db, async (url) => {
      page = fetch(`${url}sweeps/large`).then((res) => res.status, () => undefined);
      // Well into the page (its worker thread has started), far from its end.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      stoppedAt = Date.now();
    }, { signal: 'SIGTERM' });
    const took = Date.now() - stoppedAt;
    expect(r.code, r.stdout + r.stderr).toBe(143);
    expect(r.stderr).toBe('');
    // The page was not made (its connection closed); the worker making it was ended with the server.
    expect(await page).toBeUndefined();
    expect(took).toBeLessThan(3000);
  }, 90_000);

  it('a sweep another process runs appears, and its epochs arrive through the cursor as they are stored', async () => {
    const { dir, db } = freshDatabase();
    await sweep(dir, db, 'earlier');
    const r = await serving(db, async (url) => {
      const running = cli(experiment(dir, 'live', 4), '--db', db, '--no-tui', '--workers', '1');
      let cursor = 0;
      const seen: { trial_id: string; epoch: number }[] = [];
      const counts: number[] = [];
      const deadline = Date.now() + 50_000;
      while (seen.length < 8 && Date.now() < deadline) {
        const sweeps = (await getJson(`${url}api/sweeps`)).body as unknown as { name: string }[];
        if (sweeps.some((s) => s.name === 'live')) {
          const page = await getJson(`${url}api/sweeps/live/epochs?after=${cursor}`);
          const fresh = page.body.epochs as { cursor: number; trial_id: string; epoch: number }[];
          for (const e of fresh) expect(e.cursor).toBeGreaterThan(cursor);
          seen.push(...fresh);
          cursor = page.body.cursor as number;
          if (fresh.length) counts.push(seen.length);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((await running).code).toBe(0);
      // Every epoch once, and they came over several answers while the sweep ran, not all at the end.
      expect(seen.map((e) => `${e.trial_id}:${e.epoch}`).sort()).toEqual([...new Set(seen.map((e) => `${e.trial_id}:${e.epoch}`))].sort());
      expect(seen).toHaveLength(8);
      expect(counts.length).toBeGreaterThan(1);
      expect(((await getJson(`${url}api/sweeps/live`)).body.sweep as { status: string }).status).toBe('completed');
    });
    expect(r.code, r.stderr).toBe(130);
  }, 90_000);

  it('a cursor still finds the epochs of a sweep trained again from the start (--rerun), whose deleted rows SQLite would number again', async () => {
    const { dir, db } = freshDatabase();
    const file = experiment(dir, 'again', 2);
    expect((await cli(file, '--db', db, '--no-tui')).code).toBe(0);
    const r = await serving(db, async (url) => {
      const first = await getJson(`${url}api/sweeps/again/epochs?after=0`);
      expect(first.body.epochs).toHaveLength(4);
      expect((await cli(file, '--db', db, '--no-tui', '--rerun')).code).toBe(0);
      const since = await getJson(`${url}api/sweeps/again/epochs?after=${first.body.cursor}`);
      expect(since.body.epochs).toHaveLength(4);
      const all = (await getJson(`${url}api/sweeps/again/epochs?after=0`)).body.epochs as { cursor: number }[];
      expect(all.map((e) => e.cursor)).toEqual((since.body.epochs as { cursor: number }[]).map((e) => e.cursor));
    });
    expect(r.code, r.stderr).toBe(130);
  }, 60_000);

  it('refuses, in one line with exit 2 and before listening: a port in use, a bad port, an address not of this machine, a database that is not ours; warns off loopback', async () => {
    const { dir, db } = freshDatabase();
    await sweep(dir, db, 'pooling');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const inUse = await cli('serve', '--db', db, '--port', String(port));
      expect([inUse.code, inUse.stderr.trim()]).toEqual([2, `--port ${port}: another program listens there; choose another port, or --port 0 for any free one`]);
    } finally {
      taken.close();
    }
    for (const [args, message] of [
      [['--port', 'http'], "--port: expected a port number from 0 to 65535 (0: any free one), found 'http'"],
      [['--port', '70000'], "--port: expected a port number from 0 to 65535 (0: any free one), found '70000'"],
      [['--host', '', '--port', '0'], "--host: expected an address to listen on (127.0.0.1, the default; 0.0.0.0 for every interface), found ''"],
      [['--host', '203.0.113.9', '--port', '0'], /^--host 203\.0\.113\.9: not an address of this machine \(EADDRNOTAVAIL\); use 127\.0\.0\.1 \(the default\), or 0\.0\.0\.0 for every interface$/],
    ] as const) {
      const r = await cli('serve', '--db', db, ...args);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      if (typeof message === 'string') expect(r.stderr.trim()).toBe(message);
      else expect(r.stderr.trim()).toMatch(message);
    }
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a database\n');
    const notOurs = await cli('serve', '--db', text, '--port', '0');
    expect(notOurs.code).toBe(2);
    expect(notOurs.stderr.trim()).toMatch(new RegExp(`^${text}: `));
    expect(readFileSync(text, 'utf8')).toBe('not a database\n');
    // Damage past the schema, in the trials' table: found by reading it, before listening.
    const damaged = join(dir, 'damaged.db');
    writeFileSync(damaged, readFileSync(db));
    const reader = new Database(damaged, { readonly: true });
    const { root, size } = reader.prepare(`SELECT rootpage AS root, (SELECT page_size FROM pragma_page_size) AS size FROM sqlite_master WHERE name = 'trial_records'`).get() as { root: number; size: number };
    reader.close();
    const bytes = readFileSync(damaged);
    bytes.fill(0x5a, (root - 1) * size, root * size);
    writeFileSync(damaged, bytes);
    const broken = await cli('serve', '--db', damaged, '--port', '0');
    expect([broken.code, broken.stdout]).toEqual([2, '']);
    expect(broken.stderr.trim()).toMatch(new RegExp(`^${damaged}: a damaged database, cut short or overwritten in part \\(.+\\); restore it from a copy$`));
    const missing = await cli('serve', '--db', join(dir, 'none.db'), '--port', '0');
    expect(missing.code).toBe(2);
    expect(existsSync(join(dir, 'none.db'))).toBe(false);

    const wide = await serving(db, async () => undefined, { args: ['--host', '0.0.0.0'] });
    expect(wide.stdout).toMatch(/^warning: listening on 0\.0\.0\.0: anyone who can reach port \d+ can read every result in \S+runs\.db$/m);
    expect(wide.code).toBe(130);
  }, 60_000);
});

describe('which addresses only this machine reaches', () => {
  it('localhost, 127.x.y.z and ::1 however written; nothing else', () => {
    for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.3.2.1', '::1', '0:0:0:0:0:0:0:1', '0000::0001', '::ffff:127.0.0.1', '::ffff:7f00:1']) expect([host, isLoopback(host)]).toEqual([host, true]);
    for (const host of ['0.0.0.0', '::', '', '10.0.0.1', '128.0.0.1', '127.0.0.1.evil.com', 'localhost.evil.com', '::2', '::ffff:10.0.0.1', '::ffff:128.0.0.1', '[::1]']) expect([host, isLoopback(host)]).toEqual([host, false]);
  });
});

/** The status code of one raw HTTP request, sent byte for byte as given. */
async function rawStatus(origin: URL, request: string): Promise<number> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(origin.port), origin.hostname, () => socket.write(request));
    let reply = '';
    socket.on('data', (d) => (reply += d.toString()));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}
