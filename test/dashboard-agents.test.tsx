/**
 * The dashboard of a sweep across machines (a coordinator, `sweep FILE --queue URL`, stores
 * what agents on other machines train): each trial's agent on the board and in the detail, and
 * a footer line per agent. The database is written by the real RunWriter as the coordinator
 * writes it (provenance naming the agent, each epoch with its checkpoint, a takeover rewinding
 * the trial in the transaction of the new attempt's start), at fixed times of a faked clock.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadExperiment } from '../src/config/experiment.js';
import { BoardLoader, loadBoard, type Board } from '../src/dashboard/board.js';
import { agentRoom, Dashboard, type DashboardProps } from '../src/dashboard/Dashboard.js';
import { agentSummaries, type AgentSummary } from '../src/dashboard/derive.js';
import { agentLine, agentLines } from '../src/dashboard/Footer.js';
import { BoardStore } from '../src/dashboard/store.js';
import { openForReading, openForWriting } from '../src/store/open.js';
import { RunWriter } from '../src/store/writer.js';
import type { EpochMetrics } from '../src/train/metrics.js';
import { tempDir, writeExperiment } from './helpers.js';

const YAML = `name: farm
training: { epochs: 4 }
sweep: { parameters: { training.seed: [1, 2, 3, 4, 5, 6, 7] } }
`;

const T0 = Date.parse('2025-01-01T12:00:00.000Z');
const at = (s: number) => vi.setSystemTime(T0 + s * 1000);
const QUEUE = 'redis://queue.lan:6379';

let db: string;
let file: string;
let ids: string[];
const unmounts: (() => void)[] = [];

const metrics = (epoch: number, imagesPerS: number, valAcc = 0.9 + epoch / 100): EpochMetrics => ({
  epoch,
  train_loss: 0.5 / epoch,
  train_acc: valAcc - 0.01,
  val_loss: 1 - valAcc,
  val_acc: valAcc,
  lr: 0.001,
  seconds: 10,
  images_per_s: imagesPerS,
});
const checkpoint = (id: string, epoch: number) => ({ epoch, path: `checkpoints/${id}/epoch-${epoch}.ckpt`, bytes: 1000, sha256: 'ab'.repeat(32) });

/**
 * Seven trials: 1 completed on gpu-box-1; 3 started there, lost, and taken over from its epoch-2
 * checkpoint by gpu-box-10 (no epoch of its own yet); 2 running on gpu-box-1; 4 and 5 running
 * on gpu-box-2 and 6 pruned there; 7 queued.
 */
beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    db = join(tempDir(), 'runs.db');
    file = writeExperiment(YAML);
    const { experiment, trials } = loadExperiment(file);
    ids = trials.map((t) => t.id);
    const conn = openForWriting(db);
    at(0);
    const writer = RunWriter.begin(conn, file, experiment, trials, { host: 'coordinator', versions: {} });
    writer.runStarted(4);
    const start = (i: number, agent: string, resumedFrom = 0) =>
      writer.trialStarted(ids[i], 1, 'webgpu', null, 61_706, 100, resumedFrom, { backend: 'webgpu', queue: QUEUE, agent });
    const epoch = (i: number, e: number, imagesPerS: number) => writer.epoch(ids[i], metrics(e, imagesPerS), checkpoint(ids[i], e));
    // What happens, second by second.
    const steps: [number, () => void][] = [
      [1, () => start(0, 'gpu-box-1')],
      ...[1000, 1010, 1020, 1030].map((r, e): [number, () => void] => [2 + e, () => epoch(0, e + 1, r)]),
      [6, () => writer.trialFinished(ids[0], 'completed', { loss: 0.05, acc: 0.98 })],
      [7, () => start(2, 'gpu-box-1')],
      [8, () => epoch(2, 1, 1200)],
      [9, () => epoch(2, 2, 1210)],
      [10, () => start(1, 'gpu-box-1')],
      [11, () => epoch(1, 1, 1600)],
      [12, () => (epoch(1, 2, 1650), writer.progress(ids[1], 3, 40))],
      [13, () => start(3, 'gpu-box-2')],
      [14, () => epoch(3, 1, 2100)],
      [15, () => start(4, 'gpu-box-2')],
      [16, () => epoch(4, 1, 1350)],
      [17, () => start(5, 'gpu-box-2')],
      [18, () => writer.epoch(ids[5], metrics(1, 900, 0.5), checkpoint(ids[5], 1))],
      [19, () => writer.trialFinished(ids[5], 'pruned', { loss: null, acc: null }, 'val_acc 0.5 at epoch 1 below the band cutoff 0.9')],
    ];
    for (const [s, step] of steps) {
      at(s);
      step();
    }
    // gpu-box-1 is lost: gpu-box-10 takes trial 3 over from its epoch-2 checkpoint, as the
    // runner writes a takeover (the trial rewound to the checkpoint, then the new start).
    at(40);
    writer.together(() => {
      writer.resumeAt(ids[2], [metrics(1, 1200), metrics(2, 1210)], [checkpoint(ids[2], 1), checkpoint(ids[2], 2)]);
      start(2, 'gpu-box-10', 2);
    });
    conn.close();
  } finally {
    vi.useRealTimers();
  }
});

afterEach(() => {
  while (unmounts.length) unmounts.pop()!();
});

const NOW = T0 + 43_000;
const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

async function show(board: () => Board, props: Partial<DashboardProps> = {}) {
  const r = render(<Dashboard store={new BoardStore(board)} mode="attach" columns={120} rows={30} now={() => NOW} {...props} />);
  unmounts.push(r.unmount);
  await tick();
  return { frame: () => r.lastFrame()!.split('\n'), press: async (k: string) => (r.stdin.write(k), await tick()) };
}

const farm = () => loadBoard(openForReading(db), 'farm');
/** A copy of the sweep's database to change. */
function copyOfFarm(): string {
  const path = join(tempDir(), 'runs.db');
  copyFileSync(db, path);
  return path;
}
const isAgentLine = (l: string) => /^(agent |\+\d+ more agents: |\d+ agents: )/.test(l);
const rowOf = (lines: string[], i: number) => lines.find((l) => l.includes(ids[i].slice(0, 8)))!;

describe('reading who trains what', () => {
  it('each trial has its latest attempt\'s agent (none while queued); the run\'s agent attempts with their times', () => {
    const board = farm();
    const agentOf = Object.fromEntries(board.trials.map((t) => [t.id, t.agent]));
    expect(ids.map((id) => agentOf[id])).toEqual(['gpu-box-1', 'gpu-box-1', 'gpu-box-10', 'gpu-box-2', 'gpu-box-2', 'gpu-box-2', null]);
    const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
    const attempts = [...board.agentAttempts].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    expect(attempts.map((a) => [ids.indexOf(a.trialId), a.attempt, a.agent, a.status, a.fromEpoch])).toEqual([
      [0, 1, 'gpu-box-1', 'completed', 0],
      [2, 1, 'gpu-box-1', 'lost', 0],
      [1, 1, 'gpu-box-1', 'running', 0],
      [3, 1, 'gpu-box-2', 'running', 0],
      [4, 1, 'gpu-box-2', 'running', 0],
      [5, 1, 'gpu-box-2', 'pruned', 0],
      [2, 2, 'gpu-box-10', 'running', 2],
    ]);
    // The newest checkpoint stored during each attempt that did not report its end; none for
    // the lost attempt (the takeover re-recorded its checkpoints at the takeover's time, which
    // says nothing of gpu-box-1); the new attempt's are the takeover's own.
    expect(attempts.map((a) => a.storedAt)).toEqual([null, null, iso(12), iso(14), iso(16), null, iso(40)]);
    expect(attempts.map((a) => a.finishedAt)).toEqual([iso(6), iso(40), null, null, null, iso(19), null]);
  });

  it('a loader re-reading the database follows a new attempt on another agent', () => {
    const path = copyOfFarm();
    const loader = new BoardLoader(openForReading(path), 'farm');
    expect(loader.load().trials.find((t) => t.id === ids[6])!.agent).toBeNull();
    const writable = openForWriting(path);
    writable.prepare(`INSERT INTO attempt_records (trial_id, attempt, run, from_epoch, started_at, status, provenance) VALUES (?, 1, 1, 0, ?, 'running', ?)`).run(
      ids[6],
      new Date(NOW).toISOString(),
      JSON.stringify({ agent: 'gpu-box-3', queue: QUEUE }),
    );
    writable.prepare(`UPDATE trial_records SET status = 'running', attempt = 1 WHERE id = ?`).run(ids[6]);
    writable.close();
    const board = loader.load();
    expect(board.trials.find((t) => t.id === ids[6])!.agent).toBe('gpu-box-3');
    expect(agentSummaries(board).map((a) => a.name)).toEqual(['gpu-box-1', 'gpu-box-2', 'gpu-box-3', 'gpu-box-10']);
  });

  it('a sweep on one machine has no agents: no agent on its trials, no agent attempts', () => {
    const dir = tempDir();
    const local = writeExperiment('name: local\nsweep: { parameters: { training.seed: [1, 2] } }\n');
    const { experiment, trials } = loadExperiment(local);
    const conn = openForWriting(join(dir, 'runs.db'));
    const writer = RunWriter.begin(conn, local, experiment, trials, { host: 'here', versions: {} });
    writer.runStarted(2);
    // What a local run records: provenance without an agent.
    writer.trialStarted(trials[0].id, 1, 'wasm', null, 61_706, 100, 0, { backend: 'wasm' });
    writer.trialStarted(trials[1].id, 2, 'wasm', null, 61_706, 100);
    conn.close();
    const board = loadBoard(openForReading(join(dir, 'runs.db')), 'local');
    expect(board.trials.map((t) => t.agent)).toEqual([null, null]);
    expect(board.agentAttempts).toEqual([]);
    expect(agentSummaries(board)).toEqual([]);
  });
});

describe('agentSummaries', () => {
  it('per agent: trials running now, trials ended this run, throughput of its own latest epochs, last heard', () => {
    const s = (seconds: number) => T0 + seconds * 1000;
    expect(agentSummaries(farm())).toEqual<AgentSummary[]>([
      // Running trial 2 (latest epoch 1,650 img/s); trial 1 completed; its lost attempt is not done.
      // Heard: trial 2's epoch 2 at 12 s (its lost attempt's end at 40 s was the takeover's doing).
      { name: 'gpu-box-1', running: 1, done: 1, imagesPerS: 1650, heardAt: s(12) },
      // Two trials at once: 2,100 + 1,350. Heard: the pruned trial's end at 19 s.
      { name: 'gpu-box-2', running: 2, done: 1, imagesPerS: 3450, heardAt: s(19) },
      // After gpu-box-2 (numeric order). Its trial's epochs so far are gpu-box-1's: not its throughput.
      { name: 'gpu-box-10', running: 1, done: 0, imagesPerS: null, heardAt: s(40) },
    ]);
  });

  it('counts only the latest run: after a run on this machine the trials keep their agents, the footer has none', () => {
    const again = copyOfFarm();
    const { experiment, trials } = loadExperiment(file);
    const conn = openForWriting(again);
    RunWriter.begin(conn, file, experiment, trials, { host: 'here', versions: {} }).runStarted(1);
    conn.close();
    const board = loadBoard(openForReading(again), 'farm');
    expect(board.trials.find((t) => t.id === ids[0])!.agent).toBe('gpu-box-1');
    // Left running by the last run: interrupted, still the agent's.
    expect(board.trials.find((t) => t.id === ids[3])).toMatchObject({ status: 'interrupted', agent: 'gpu-box-2' });
    expect(board.agentAttempts).toEqual([]);
    expect(agentSummaries(board)).toEqual([]);
  });
});

describe('footer lines', () => {
  const agent = (name: string, running: number, done: number, imagesPerS: number | null): AgentSummary => ({ name, running, done, imagesPerS, heardAt: T0 });

  it('one line per agent; no throughput while it trains nothing', () => {
    expect(agentLine(agent('gpu-box-1', 2, 5, 3450.4), T0 + 3_000)).toBe('agent gpu-box-1: 2 running, 5 done, 3,450 img/s, heard 3s ago');
    expect(agentLine(agent('b', 1, 0, null), T0 + 185_000)).toBe('agent b: 1 running, 0 done, — img/s, heard 3m05s ago');
    expect(agentLine(agent('c', 0, 4, null), T0)).toBe('agent c: 0 running, 4 done, heard 0s ago');
    // Another machine's clock may be ahead of the viewer's.
    expect(agentLine(agent('d', 0, 1, null), T0 - 2_000)).toBe('agent d: 0 running, 1 done, heard 0s ago');
  });

  it('more agents than lines: the last line sums up the rest', () => {
    const agents = Array.from({ length: 8 }, (_, i) => agent(`a${i + 1}`, i % 2, 1, i % 2 ? 1000 : null));
    const lines = agentLines(agents, T0, 6);
    expect(lines).toHaveLength(6);
    expect(lines[4]).toMatch(/^agent a5: /);
    // a6, a8 run one trial each at 1,000 img/s; a7 none.
    expect(lines[5]).toBe('+3 more agents: 2 running, 3 done, 2,000 img/s');
    expect(agentLines(agents, T0, 1)).toEqual(['8 agents: 4 running, 8 done, 4,000 img/s']);
    expect(agentLines(agents.slice(0, 6), T0, 6)).toHaveLength(6);
    expect(agentLines(agents, T0, 0)).toEqual([]);
  });

  it('room: none without agents, at most 6 lines and a third of the rows, at least one', () => {
    expect(agentRoom(0, 30)).toBe(0);
    expect(agentRoom(3, 30)).toBe(3);
    expect(agentRoom(9, 30)).toBe(6);
    expect(agentRoom(9, 18)).toBe(4);
    expect(agentRoom(3, 8)).toBe(1);
  });
});

describe('the dashboard of a sweep across machines', () => {
  it('an agent column beside the status, and a line per agent above the progress line', async () => {
    const { frame } = await show(farm);
    const lines = frame();
    expect(lines[1]).toMatch(/^ {2}# trial +seed best val_acc +test epochs +status +agent +img\/s val_acc$/);
    expect(rowOf(lines, 0)).toMatch(/ 4\/4 ██████████ completed +gpu-box-1 +1015 /);
    expect(rowOf(lines, 2)).toMatch(/ 2\/4 █████░░░░░ running +gpu-box-10 +1205 /);
    expect(rowOf(lines, 3)).toMatch(/ running +gpu-box-2 +2100 /);
    expect(rowOf(lines, 6)).toMatch(/ 0\/4 ░░░░░░░░░░ queued$/);
    const footer = lines.slice(-5);
    expect(footer).toEqual([
      'agent gpu-box-1: 1 running, 1 done, 1,650 img/s, heard 31s ago',
      'agent gpu-box-2: 2 running, 1 done, 3,450 img/s, heard 24s ago',
      'agent gpu-box-10: 1 running, 0 done, — img/s, heard 3s ago',
      expect.stringMatching(/^2\/7 done · 4 running on 4 workers · 1 pruned .* · elapsed 43s · ETA \S+$/),
      '↑↓ select · Enter detail · s sort: metric · g group by config · q quit',
    ]);
    expect(lines[lines.length - 6]).toBe('');
  });

  it('the rows make room for the agents\' lines: a short terminal scrolls sooner and sums agents up', async () => {
    for (const rows of [30, 16, 12]) {
      const { frame } = await show(farm, { rows });
      const lines = frame();
      expect(lines.length, `${rows} rows`).toBeLessThan(rows);
      const agentLinesShown = lines.filter(isAgentLine);
      expect(agentLinesShown).toHaveLength(agentRoom(3, rows));
    }
    const twelve = (await show(farm, { rows: 12 })).frame();
    expect(twelve.filter(isAgentLine)).toEqual(['agent gpu-box-1: 1 running, 1 done, 1,650 img/s, heard 31s ago', '+2 more agents: 3 running, 1 done, 3,450 img/s']);
    expect(twelve.some((l) => /^… \d+ more \(↑\/↓ to scroll\)$/.test(l))).toBe(true);
    const nine = (await show(farm, { rows: 9 })).frame();
    expect(nine.length).toBeLessThan(9);
    expect(nine.filter(isAgentLine)).toEqual(['3 agents: 4 running, 2 done, 5,100 img/s']);
  });

  it('a narrow terminal drops the agent column before the status, and no line is wider than the terminal', async () => {
    const { frame } = await show(farm, { columns: 70 });
    const lines = frame();
    for (const l of lines) expect(l.length).toBeLessThan(70);
    expect(lines[1]).not.toContain('agent');
    expect(lines[1]).toContain('status');
  });

  it('the detail view names the trial\'s agent and still fits', async () => {
    for (const rows of [30, 16]) {
      const { frame, press } = await show(farm, { rows });
      await press('\r');
      const lines = frame();
      expect(lines.length).toBeLessThan(rows);
      expect(lines[1]).toMatch(new RegExp(`^trial ${ids[0]} · completed · agent gpu-box-1 · best val_acc 94\\.00% \\(epoch 4\\)`));
      expect(lines.at(-1)).toBe('Enter/Esc back · q quit');
    }
  });
});
