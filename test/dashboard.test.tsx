/**
 * The dashboard's components on ink-testing-library's terminal, fed by a real database
 * snapshot (see runs-fixture): ranking, progress, sparklines, grouping statistics, detail view,
 * keys, narrow terminals and the footer's counts and times.
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import { render } from 'ink-testing-library';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadBoard } from '../src/dashboard/board.js';
import { Dashboard, type DashboardProps } from '../src/dashboard/Dashboard.js';
import { keyOf, keyPresses } from '../src/dashboard/keypress.js';
import { groupTrials } from '../src/dashboard/derive.js';
import { welch } from '../src/dashboard/stats.js';
import { BoardStore } from '../src/dashboard/store.js';
import { openForReading } from '../src/store/open.js';
import { BATCHES, writeRuns } from './runs-fixture.js';

/** avg and max pooling, three seeds each, 4 epochs: avg seed 3 queued, max seed 3 running. */
const YAML = `name: dash
training: { epochs: 4 }
sweep:
  repeats: 3
  parameters:
    model.pooling: [avg, max]
`;

let ids: Record<string, string>;
let store: BoardStore;
let startedAt: number;
const unmounts: (() => void)[] = [];

beforeAll(() => {
  const runs = writeRuns(
    YAML,
    (t) => {
      const key = `${t.config.model.pooling}/${t.config.training.seed}`;
      const best = { 'avg/1': 0.97, 'avg/2': 0.972, 'max/1': 0.981, 'max/2': 0.983 }[key];
      if (key === 'avg/3') return { status: 'queued' };
      if (key === 'max/3') return { status: 'running', valAcc: [0.91, 0.96], progress: { epoch: 3, batch: 50 } };
      return { status: 'completed', valAcc: [0.9, 0.95, 0.96, best!], testAcc: key === 'avg/1' ? 0.99 : best! - 0.01 };
    },
    { sweepStatus: 'running' },
  );
  ids = Object.fromEntries(runs.trials.map((t) => [`${t.config.model.pooling}/${t.config.training.seed}`, t.id.slice(0, 8)]));
  const db = openForReading(runs.db);
  store = new BoardStore(() => loadBoard(db, 'dash'));
  startedAt = Date.parse(store.get().sweep.runStartedAt!);
});

afterEach(() => {
  while (unmounts.length) unmounts.pop()!();
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

async function show(props: Partial<DashboardProps> = {}) {
  const r = render(<Dashboard store={store} mode="run" columns={100} rows={30} now={() => startedAt + 65_000} {...props} />);
  unmounts.push(r.unmount);
  await tick();
  const frame = () => r.lastFrame()!.split('\n');
  const press = async (...keys: string[]) => {
    for (const k of keys) {
      r.stdin.write(k);
      await tick();
    }
  };
  /**
   * Keys typed faster than frames are drawn: all written before React renders. Then it waits for
   * the frames to settle (changed, then still for 100 ms): a fixed 30 ms was too short on a loaded
   * machine, where the frame of the last key had not been drawn yet.
   */
  const pressAtOnce = async (...keys: string[]) => {
    const before = r.lastFrame();
    for (const k of keys) r.stdin.write(k);
    let last = before;
    let stillSince = Date.now();
    for (const deadline = Date.now() + 3000; Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const now = r.lastFrame();
      if (now !== last) {
        last = now;
        stillSince = Date.now();
      } else if (last !== before && Date.now() - stillSince >= 100) {
        return;
      }
    }
  };
  return { frame, press, pressAtOnce };
}

const rowOf = (lines: string[], id: string) => lines.find((l) => l.includes(id))!;
const DOWN = '\u001B[B';

describe('leaderboard', () => {
  it('ranks by the metric, with progress, status, throughput and a sparkline per trial', async () => {
    const { frame } = await show();
    const lines = frame();
    expect(lines[0]).toBe('lenet-sweep · dash · val_acc (higher is better)');
    expect(lines[1]).toMatch(/^ {2}# trial +pooling seed best val_acc +test epochs +status +img\/s val_acc$/);
    const order = [ids['max/2'], ids['max/1'], ids['avg/2'], ids['avg/1'], ids['max/3'], ids['avg/3']];
    expect(lines.slice(2, 8).map((l) => order.find((id) => l.includes(id)))).toEqual(order);
    expect(rowOf(lines, ids['max/2'])).toMatch(/^ {2}1 \w{8} max +2 +98\.30% 97\.30% 4\/4 ██████████ completed +20\d0 ▁▅▆█$/);
    // Epoch 3 of 4, half its batches done: 2.5 / 4 of the bar.
    expect(rowOf(lines, ids['max/3'])).toMatch(/^ {2}5 \w{8} max +3 +96\.00% +2\/4 ██████▎░░░ running +20\d0 ▁█$/);
    expect(rowOf(lines, ids['avg/3'])).toMatch(/^ {4}\w{8} avg +3 +0\/4 ░░░░░░░░░░ queued$/);
  });

  it('footer: done and total, workers busy, elapsed time and the ETA from the mean epoch time', async () => {
    const { frame } = await show();
    // Left: 1.5 epochs of the running trial + 4 of the queued one, 2 s each, on 2 workers.
    expect(frame()).toContain('4/6 done · 1 running on 2 workers · elapsed 1m05s · ETA 6s');
    expect(frame().at(-1)).toBe('↑↓ select · Enter detail · s sort: metric · g group by config · q stop');
  });

  it('s changes the sort: test accuracy, then throughput, then the order of the file', async () => {
    const { frame, press } = await show();
    await press('s');
    expect(frame().at(-1)).toContain('s sort: test_acc');
    expect(frame()[2]).toContain(ids['avg/1']); // best test accuracy, fourth by the metric
    await press('s', 's');
    expect(frame().at(-1)).toContain('s sort: trial order');
    expect(frame().slice(2, 8).map((l) => l.slice(4, 12))).toEqual([ids['avg/1'], ids['avg/2'], ids['avg/3'], ids['max/1'], ids['max/2'], ids['max/3']]);
  });

  it('degrades to fewer columns in a narrow terminal, never wider than it', async () => {
    // Far too narrow for the table: still no line wider than the terminal.
    const tiny = await show({ columns: 15 });
    for (const l of tiny.frame()) expect(l.length).toBeLessThan(15);
    for (const columns of [60, 40]) {
      const { frame } = await show({ columns });
      const lines = frame();
      for (const l of lines) expect(l.length).toBeLessThan(columns);
      expect(lines[1]).toMatch(/^ {2}# trial/);
      expect(lines[1]).toContain('best val_acc');
      expect(lines[1]).not.toContain('img/s');
      expect(rowOf(lines, ids['max/2'])).toContain('98.30%');
    }
  });

  it('shows a window around the selection when the trials do not fit', async () => {
    const { frame, press } = await show({ rows: 10 });
    expect(frame()).toContain('… 3 more (↑/↓ to scroll)');
    await press(DOWN, DOWN, DOWN, DOWN, DOWN);
    expect(frame().some((l) => l.includes(ids['avg/3']))).toBe(true);
    expect(frame().some((l) => l.includes(ids['max/2']))).toBe(false);
  });
});

describe('progress', () => {
  it('counts the batches of the epoch in progress only: no jump when an epoch has just been recorded', async () => {
    const runs = writeRuns('name: edge\ntraining: { epochs: 4 }\n', () => ({ status: 'running', valAcc: [0.9], progress: { epoch: 1, batch: BATCHES } }), { sweepStatus: 'running' });
    const db = openForReading(runs.db);
    const r = render(<Dashboard store={new BoardStore(() => loadBoard(db, 'edge'))} mode="run" />);
    unmounts.push(r.unmount);
    await tick();
    // One epoch of four done: a quarter of the bar, not a half.
    expect(r.lastFrame()).toMatch(/ 1\/4 ██▌░░░░░░░ running /);
  });
});

describe('a sweep whose process was killed', () => {
  it('says so in the footer instead of an ETA, and the clock stops', async () => {
    const runs = writeRuns('name: gone\ntraining: { epochs: 4 }\n', () => ({ status: 'running', valAcc: [0.9], progress: { epoch: 2, batch: 10 } }), { sweepStatus: 'running' });
    // A process id that has just ended, on this host.
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const conn = new Database(runs.db);
    conn.prepare('UPDATE sweeps SET pid = ?, host = ?').run(deadPid, hostname());
    conn.close();
    const db = openForReading(runs.db);
    const r = render(<Dashboard store={new BoardStore(() => loadBoard(db, 'gone'))} mode="attach" />);
    unmounts.push(r.unmount);
    await tick();
    expect(r.lastFrame()).toMatch(/0\/1 done · 1 running on 2 workers · elapsed — · process gone \(killed\?\): run the file to resume$/m);
  });
});

describe('a sweep run again with other settings', () => {
  it('shows the latest run only, ranked from 1, with every setting that tells its rows apart', async () => {
    const first = writeRuns('name: again\nsweep: { parameters: { model.pooling: [avg, max] } }\n', (_t, i) => ({ status: 'completed', valAcc: [0.9 + i / 100], testAcc: 0.9 }));
    // Run again with a dropout axis and two epochs: all four trials are new (other epochs); the first two have run.
    const second = writeRuns(
      'name: again\ntraining: { epochs: 2 }\nsweep: { parameters: { model.pooling: [avg, max], model.dropout: [0, 0.5] } }\n',
      (_t, i) => (i < 2 ? { status: 'completed', valAcc: [0.8, 0.85 + i / 100], testAcc: 0.8 } : { status: 'queued' }),
      { db: first.db },
    );
    const db = openForReading(first.db);
    const board = loadBoard(db, 'again');
    expect(board.trials.map((t) => t.id).sort()).toEqual(second.trials.map((t) => t.id).sort());
    expect(board.trials.map((t) => t.rank)).toEqual([1, 2, null, null]);
    const r = render(<Dashboard store={new BoardStore(() => loadBoard(db, 'again'))} mode="attach" />);
    unmounts.push(r.unmount);
    await tick();
    expect(r.lastFrame()!.split('\n')[1]).toMatch(/^ {2}# trial +pooling dropout best val_acc/);
    expect(r.lastFrame()).toMatch(/ {2}1 \w{8} avg +0\.5 +86\.00%/);
    expect(r.lastFrame()).toContain('2/4 done');
  });
});

describe('grouped view', () => {
  it('g groups the seeds of each configuration: mean ± sd, and Welch\'s test against the leader', async () => {
    const { frame, press } = await show();
    await press('g');
    const lines = frame();
    expect(lines[0]).toContain('grouped over seeds');
    expect(lines[1]).toMatch(/^ {2}# pooling seeds +val_acc mean ± sd +test mean ± sd vs leader$/);
    // max: 0.981, 0.983; avg: 0.970, 0.972 (completed trials only). t = 0.011 / sqrt(2e-6) = 7.78 with
    // 2 degrees of freedom, where the two-sided p is 1 - t / sqrt(t² + 2) = 0.016.
    expect(lines[2]).toMatch(/^ {2}1 max +2\/3 +98\.20 ± 0\.14% +97\.20 ± 0\.14% leader$/);
    expect(lines[3]).toMatch(/^ {2}2 avg +2\/3 +97\.10 ± 0\.14% +97\.60 ± 1\.98% worse \(p=0\.016\)$/);
    expect(lines[4]).toMatch(/^seeds: completed \/ all\. Welch's t-test/);
    await press('g');
    expect(frame()[0]).not.toContain('grouped');
  });

  it('the p-values against the leader are Holm-adjusted over all the configurations tested', () => {
    // Three dropout rates, three seeds: 0 leads; 0.25 and 0.5 are a little behind, with seed noise.
    const acc: Record<string, number[]> = { '0': [0.95, 0.96, 0.97], '0.25': [0.94, 0.95, 0.955], '0.5': [0.93, 0.945, 0.95] };
    const runs = writeRuns('name: holm\nsweep: { repeats: 3, parameters: { model.dropout: [0, 0.25, 0.5] } }\n', (t) => ({
      status: 'completed',
      valAcc: [acc[String(t.config.model.dropout)][t.config.training.seed - 1]],
      testAcc: 0.9,
    }));
    const groups = groupTrials(loadBoard(openForReading(runs.db), 'holm'));
    expect(groups.map((g) => g.params['model.dropout'])).toEqual(['0', '0.25', '0.5']);
    const raw = [welch(acc['0.25'], acc['0'])!.p, welch(acc['0.5'], acc['0'])!.p];
    // The smaller raw p is doubled (two tests), the larger kept at least as large.
    const [small, large] = raw[1] < raw[0] ? [1, 0] : [0, 1];
    expect(groups[1 + small].p).toBeCloseTo(Math.min(1, 2 * raw[small]), 12);
    expect(groups[1 + large].p).toBeCloseTo(Math.max(Math.min(1, 2 * raw[small]), raw[large]), 12);
    expect(groups[0].p).toBeNull();
  });

  it('shows a window around the selected configuration when the groups do not fit', async () => {
    // 12 learning rates × 2 seeds; the higher the rate, the better (so the groups rank in reverse file order).
    const lrs = Array.from({ length: 12 }, (_, i) => (i + 1) / 1000);
    const runs = writeRuns(`name: many\nsweep: { repeats: 2, parameters: { optimizer.lr: [${lrs.join(', ')}] } }\n`, (t) => ({
      status: 'completed',
      valAcc: [0.5 + t.config.optimizer.lr * 20 + t.config.training.seed / 1000],
      testAcc: 0.5,
    }));
    const db = openForReading(runs.db);
    const r = render(<Dashboard store={new BoardStore(() => loadBoard(db, 'many'))} mode="attach" columns={100} rows={14} />);
    unmounts.push(r.unmount);
    const press = async (k: string, times = 1) => {
      for (let i = 0; i < times; i++) r.stdin.write(k);
      await tick();
    };
    await tick();
    await press('g');
    let lines = r.lastFrame()!.split('\n');
    expect(lines.length).toBeLessThan(14);
    expect(lines[2]).toMatch(/^ {2}1 0\.012 /);
    expect(lines.find((l) => l.startsWith('…'))).toMatch(/^… \d+ more configurations \(↑\/↓ to scroll\)$/);
    await press(DOWN, 11);
    lines = r.lastFrame()!.split('\n');
    expect(lines.filter((l) => / 0\.001 /.test(l))).toHaveLength(1);
    expect(lines.join('\n')).not.toMatch(/ 0\.012 /);
    await press('\r');
    expect(r.lastFrame()!.split('\n')[0]).toContain('optimizer.lr=0.001: 2 seeds');
  });

  it('↑/↓ select a configuration, Enter lists its seeds as trials (Enter: detail), Esc goes back to the groups', async () => {
    const { frame, press } = await show();
    await press('g', DOWN, '\r');
    let lines = frame();
    expect(lines[0]).toBe('lenet-sweep · dash · val_acc (higher is better) · grouped over seeds · model.pooling=avg: 3 seeds');
    expect(lines[1]).toMatch(/^ {2}# trial/);
    // The avg seeds only, ranked among all trials by the metric (avg/2 is third, avg/1 fourth; avg/3 is queued).
    expect(lines[2]).toMatch(new RegExp(`^ {2}3 ${ids['avg/2']} avg +2 `));
    expect(lines[3]).toMatch(new RegExp(`^ {2}4 ${ids['avg/1']} avg +1 `));
    expect(lines[4]).toMatch(new RegExp(`^ {4}${ids['avg/3']} avg +3 .* queued`));
    expect(lines[5]).toBe('');
    expect(lines.at(-1)).toBe('↑↓ select · Enter detail · Esc groups · s sort: metric · g ungroup · q stop');
    await press(DOWN, '\r');
    expect(frame()[1]).toMatch(new RegExp(`^trial ${ids['avg/1']}\\w{4} · completed`));
    await press('\u001B');
    expect(frame()[0]).toContain('model.pooling=avg: 3 seeds');
    await press('\u001B');
    lines = frame();
    expect(lines[0]).toBe('lenet-sweep · dash · val_acc (higher is better) · grouped over seeds');
    expect(lines[2]).toMatch(/^ {2}1 max /);
    await press('\u001B[A', '\r');
    expect(frame()[0]).toContain('model.pooling=max: 3 seeds');
    await press('g');
    expect(frame()[0]).toBe('lenet-sweep · dash · val_acc (higher is better)');
    expect(frame().filter((l) => / (queued|running|completed) /.test(l))).toHaveLength(6);
  });
});

describe('detail and keys', () => {
  it('the detail view fits the terminal: never more lines than rows, charts dropped first', async () => {
    for (const [columns, rows] of [[80, 24], [100, 30], [70, 18], [60, 12]]) {
      const { frame, press } = await show({ columns, rows });
      await press('\r');
      const lines = frame();
      expect(lines.length, `${columns}x${rows}`).toBeLessThan(rows);
      expect(lines[0]).toMatch(/^lenet-sweep · dash/);
      expect(lines[1]).toMatch(/^trial \w{12} · completed/);
      for (const l of lines) expect(l.length).toBeLessThan(columns);
      expect(lines.at(-1)).toBe('Enter/Esc back · q stop');
      if (rows >= 24) expect(lines.join('\n')).toContain('○ val_acc');
    }
  });

  it('a narrow detail view drops whole epoch columns (least telling first) instead of cutting numbers', async () => {
    const { frame, press } = await show({ columns: 60, rows: 30 });
    await press('\r');
    const lines = frame();
    const header = lines.findIndex((l) => /^epoch /.test(l));
    expect(lines[header]).toMatch(/^epoch +train_loss +train_acc +val_loss +val_acc +img\/s$/);
    expect(lines[header + 1]).toMatch(/^ +\d +\d\.\d{4} +\d+\.\d\d% +\d\.\d{4} +\d+\.\d\d% +20\d0$/);
    expect(lines.join('\n')).not.toMatch(/\d…/);
  });

  it('several keys in one read each count', async () => {
    const { frame, press } = await show();
    await press('ss');
    expect(frame().at(-1)).toContain('s sort: img/s');
  });

  it('a failed trial with a multi-line error still fits the terminal', async () => {
    const runs = writeRuns('name: err\n', () => ({ status: 'failed', error: 'Error: boom\n    at a (x.js:1:1)\n    at b (y.js:2:2)' }));
    const db = openForReading(runs.db);
    const r = render(<Dashboard store={new BoardStore(() => loadBoard(db, 'err'))} mode="attach" rows={16} />);
    unmounts.push(r.unmount);
    await tick();
    r.stdin.write('\r');
    await tick();
    const lines = r.lastFrame()!.split('\n');
    expect(lines.length).toBeLessThan(16);
    expect(lines.find((l) => l.startsWith('error'))).toMatch(/^error {3}Error: boom at a \(x\.js:1:1\) at b/);
  });

  it('keys typed faster than frames each act on what the one before did', async () => {
    const { frame, pressAtOnce } = await show();
    await pressAtOnce('\r', 'g', 's', '\r', DOWN, DOWN);
    expect(frame()[1]).toMatch(/^ {2}# trial/);
    expect(frame().at(-1)).toContain('s sort: metric');
    await pressAtOnce('\r');
    expect(frame()[1]).toMatch(new RegExp(`^trial ${ids['avg/2']}`)); // third by the metric
  });

  it('in the detail view only Enter/Esc (back) and q act; s does nothing in the grouped view', async () => {
    const { frame, press } = await show();
    await press('\r', 'g', 's', '\r');
    expect(frame()[1]).toMatch(/^ {2}# trial/);
    expect(frame().at(-1)).toContain('s sort: metric');
    await press('g');
    expect(frame()[0]).toContain('grouped over seeds');
    expect(frame().at(-1)).toBe('↑↓ select · Enter its seeds · g ungroup · q stop');
    await press('s', '\r', 'g');
    expect(frame()[1]).toMatch(/^ {2}# trial/);
    expect(frame().at(-1)).toContain('s sort: metric');
  });

  it('Enter opens the selected trial: config, epoch table and curves; Enter again goes back', async () => {
    const { frame, press } = await show();
    await press(DOWN, '\r');
    const text = frame().join('\n');
    expect(text).toMatch(new RegExp(`trial ${ids['max/1']}\\w{4} · completed · best val_acc 98\\.10% \\(epoch 4\\) · test 97\\.10%`));
    expect(text).toContain('params  model.pooling=max  training.seed=1');
    expect(text).toMatch(/^config {2}name=dash /m);
    expect(text).toMatch(/ model\.pooling=max /);
    expect(text).not.toContain('sweep.');
    expect(text).toMatch(/^epoch +train_loss +train_acc +val_loss +val_acc +lr +seconds +img\/s$/m);
    expect(text).toMatch(/^ +4 +0\.4000 +97\.10% +0\.0190 +98\.10% +0\.001 +2\.0 +20\d0$/m);
    expect(text).toContain('● train_loss  ○ val_loss');
    expect(text).toContain('● train_acc  ○ val_acc');
    await press('\r');
    expect(frame()[1]).toMatch(/^ {2}# trial/);
  });

  it('q asks before stopping; y stops, anything else goes on', async () => {
    let stops = 0;
    const { frame, press } = await show({ onStop: () => stops++ });
    await press('q');
    expect(frame().at(-1)).toMatch(/^stop the sweep\? y = stop, any other key = go on \(running trials end after their current batch/);
    await press('n');
    expect(stops).toBe(0);
    expect(frame().at(-1)).toContain('q stop');
    await press('q', 'y');
    expect(stops).toBe(1);
    expect(frame().at(-1)).toBe('stopping: the running trials end after their current batch (Ctrl-C to stop at once)…');
  });

  it('Ctrl-C (a key in raw mode) interrupts at once and says so; in attach mode it quits', async () => {
    let interrupts = 0;
    let quits = 0;
    const run = await show({ onInterrupt: () => interrupts++ });
    await run.press('\u0003');
    expect(interrupts).toBe(1);
    expect(run.frame().at(-1)).toBe('stopping: the running trials end after their current batch (Ctrl-C to stop at once)…');
    await run.press('\u0003');
    expect(interrupts).toBe(2);
    const attach = await show({ mode: 'attach', onQuit: () => quits++ });
    await attach.press('\u0003');
    expect(quits).toBe(1);
  });

  it('once ended, the final leaderboard stays without selection or key help', async () => {
    const { frame, press } = await show({ ended: true });
    await press(DOWN, '\r', 'g');
    const lines = frame();
    expect(lines[1]).toMatch(/^ {2}# trial/);
    expect(lines.at(-1)).toMatch(/^4\/6 done/);
  });

  it('an interrupted trial is not done: the footer counts it apart (it trains again next run)', async () => {
    const statuses = ['completed', 'interrupted', 'queued'] as const;
    const runs = writeRuns('name: stopped\nsweep: { parameters: { training.seed: [1, 2, 3] } }\n', (_t, i) => ({ status: statuses[i], valAcc: i < 2 ? [0.9] : [], testAcc: 0.9 }), { sweepStatus: 'interrupted' });
    const db = openForReading(runs.db);
    const r = render(<Dashboard store={new BoardStore(() => loadBoard(db, 'stopped'))} mode="attach" ended />);
    unmounts.push(r.unmount);
    await tick();
    expect(r.lastFrame()!.split('\n').at(-1)).toMatch(/^1\/3 done · 0 running on 2 workers · 1 interrupted · elapsed \d+s · sweep interrupted$/);
  });

  it('an adaptive search counts the trials it may still propose: done out of its count', async () => {
    const yaml = 'name: adaptive\nsweep:\n  method: tpe\n  count: 6\n  startup_trials: 2\n  parameters: { optimizer.lr: { distribution: log_uniform_values, min: 0.0001, max: 0.01 } }\n';
    const runs = writeRuns(yaml, () => ({ status: 'completed', valAcc: [0.9], testAcc: 0.9 }));
    const db = openForReading(runs.db);
    const r = render(<Dashboard store={new BoardStore(() => loadBoard(db, 'adaptive'))} mode="attach" ended />);
    unmounts.push(r.unmount);
    await tick();
    expect(r.lastFrame()!.split('\n').at(-1)).toMatch(/^2\/6 done · /);
  });

  it('pruned trials: their status on the board, and in the footer how many and the share of a full search\'s epochs', async () => {
    const plans = [
      { status: 'completed', valAcc: [0.9, 0.95, 0.97, 0.98] },
      { status: 'pruned', valAcc: [0.5], pruneReason: 'val_acc 0.5 at epoch 1 below the band cutoff 0.9 (band 1)' },
      { status: 'pruned', valAcc: [0.6, 0.7, 0.75], pruneReason: 'val_acc 0.75 at epoch 3 below the band cutoff 0.97 (band 3)' },
      { status: 'queued' },
    ] as const;
    const runs = writeRuns('name: pruning\ntraining: { epochs: 4 }\nsweep: { parameters: { training.seed: [1, 2, 3, 4] } }\n', (_t, i) => ({ ...plans[i], valAcc: 'valAcc' in plans[i] ? [...plans[i].valAcc] : [] }));
    const db = openForReading(runs.db);
    const r = render(<Dashboard store={new BoardStore(() => loadBoard(db, 'pruning'))} mode="attach" ended />);
    unmounts.push(r.unmount);
    await tick();
    const lines = r.lastFrame()!.split('\n');
    expect(lines.filter((l) => /\d\/4 [█▌░]+ pruned /.test(l))).toHaveLength(2);
    expect(rowOf(lines, runs.trials[1].id.slice(0, 8))).toMatch(/ 1\/4 .* pruned /);
    // 8 epochs trained of the 12 the three started trials would have run without pruning.
    expect(lines.at(-1)).toMatch(/^3\/4 done · 0 running on 2 workers · 2 pruned \(67% of a full search's epochs\) · elapsed/);
  });
});

describe('keys arriving in one read', () => {
  // One stdin.write is one read: Ink splits it at escape sequences only and hands a run of other
  // characters (Enter, Backspace, Ctrl-C included) to useInput as one event.
  const write = async (r: Awaited<ReturnType<typeof show>>, chunk: string) => {
    await r.pressAtOnce(chunk);
  };

  it('s + Enter: the sort changes and the (new) first row opens', async () => {
    const r = await show();
    await write(r, 's\r');
    expect(r.frame()[1]).toMatch(new RegExp(`^trial ${ids['avg/1']}`)); // first by test accuracy
    await write(r, '\r');
    expect(r.frame().at(-1)).toContain('s sort: test_acc');
  });

  it('Enter + Esc opens and closes; Enter, Enter, Esc in the grouped view ends in the seeds', async () => {
    const r = await show();
    await write(r, 's\r\u001B');
    expect(r.frame()[1]).toMatch(/^ {2}# trial/);
    expect(r.frame().at(-1)).toContain('s sort: test_acc');
    await write(r, 'g\r\r\u001B');
    expect(r.frame()[0]).toContain('model.pooling=max: 3 seeds');
    expect(r.frame()[1]).toMatch(/^ {2}# trial/);
  });

  it('↓ + Enter selects the second row and opens it; ↑ in the SS3 form too', async () => {
    const r = await show();
    await write(r, `${DOWN}\r`);
    expect(r.frame()[1]).toMatch(new RegExp(`^trial ${ids['max/1']}`));
    await write(r, '\r\u001BOA\r');
    expect(r.frame()[1]).toMatch(new RegExp(`^trial ${ids['max/2']}`));
  });

  it('Backspace (DEL, alone or in a chunk) goes back from the detail', async () => {
    const r = await show();
    await r.press('\r', '\u007F');
    expect(r.frame()[1]).toMatch(/^ {2}# trial/);
    await write(r, 'g\r\r\u007F');
    expect(r.frame()[0]).toContain('model.pooling=max: 3 seeds');
    expect(r.frame()[1]).toMatch(/^ {2}# trial/);
    await write(r, '\r\u007F\r');
    expect(r.frame()[1]).toMatch(new RegExp(`^trial ${ids['max/2']}`));
  });

  it('q + y in one read stops; q + n goes on', async () => {
    let stops = 0;
    const r = await show({ onStop: () => stops++ });
    await write(r, 'qn');
    expect(stops).toBe(0);
    expect(r.frame().at(-1)).toContain('q stop');
    await write(r, 'qy');
    expect(stops).toBe(1);
    expect(r.frame().at(-1)).toMatch(/^stopping: /);
  });

  it('Ctrl-C inside a chunk interrupts (run) or quits once (attach)', async () => {
    let interrupts = 0;
    let quits = 0;
    const run = await show({ onInterrupt: () => interrupts++ });
    await write(run, 's\u0003');
    expect(interrupts).toBe(1);
    expect(run.frame().at(-1)).toMatch(/^stopping: /);
    const attach = await show({ mode: 'attach', onQuit: () => quits++ });
    await write(attach, 'g\u0003q');
    expect(quits).toBe(1);
  });

  it('the stop question shows its answer keys in an 80-column terminal', async () => {
    const r = await show({ columns: 80 });
    await r.press('q');
    const last = r.frame().at(-1)!;
    expect(last).toMatch(/^stop the sweep\? y = stop, any other key = go on/);
  });

  it('keyPresses splits a run Ink left unparsed into keys, each with its own Key, and passes parsed keys through', () => {
    const down = { ...keyOf('s').key, downArrow: true };
    // What useInput gets for a run of plain characters: the run and a blank Key.
    const blank = keyOf('s').key;
    const presses = keyPresses('s\r\u007F\u0003', blank);
    expect(presses.map((p) => p.input)).toEqual(['s', '\r', '', 'c']);
    expect(presses.map((p) => [p.key.return, p.key.backspace, p.key.ctrl])).toEqual([[false, false, false], [true, false, false], [false, true, false], [false, false, true]]);
    // A key Ink has parsed passes through as it is.
    expect(keyPresses('', down)).toEqual([{ input: '', key: down }]);
  });
});
