/**
 * Sweeps across machines: a coordinator (`sweep FILE --queue URL`) and agents (`sweep agent`) as
 * separate processes on a real Redis (Debian's redis-server, started on a free port). An agent
 * killed mid-trial loses nothing: another takes the trial over from its last checkpoint, and the
 * sweep ends with the very numbers of a run on one machine.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readFileSync, existsSync } from 'node:fs';
import { ensureEmbeddedMnist } from '../src/data/embedded.js';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { CACHE, CLI, ROOT, startCli, type CliResult } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';
import { startRedis, type RedisServer } from './redis-server.js';

const EXPERIMENT = `
name: spread
training: { epochs: 4, batch_size: 64, seed: 1, limit_train: 512 }
sweep:
  method: grid
  parameters:
    optimizer.lr: [0.0003, 0.001, 0.003]
    model.pooling: [avg, max]
  early_terminate: { type: hyperband, min_iter: 1, eta: 2 }
`;

/** The numbers a run must reproduce (timings aside), trial by trial and epoch by epoch. */
function numbers(db: string) {
  const d = new Database(db, { readonly: true });
  try {
    return {
      epochs: d.prepare(`SELECT trial_id, epoch, train_loss, train_acc, val_loss, val_acc, lr FROM epochs ORDER BY trial_id, epoch`).all(),
      trials: d.prepare(`SELECT id, status, epochs, best_epoch, best_value, test_loss, test_acc FROM trials ORDER BY id`).all(),
      confusion: d.prepare(`SELECT * FROM confusion ORDER BY trial_id, actual, predicted`).all(),
    };
  } finally {
    d.close();
  }
}

type Numbers = ReturnType<typeof numbers>;
type EpochRow = { trial_id: string; epoch: number };
type TrialRow = { id: string; status: string; epochs: number };

/**
 * Two runs of one file trained alike. Which trials an early-termination rule stops depends on
 * the order results arrive in (here as in Optuna, Ray Tune and W&B: a trial is judged against the
 * trials that have reported by then), so the runs may stop different trials at different
 * epochs; every epoch both trained must be identical, and so must every trial both completed.
 */
function expectSameTraining(a: Numbers, b: Numbers): void {
  const key = (r: EpochRow) => `${r.trial_id}:${r.epoch}`;
  const epochsOf = (n: Numbers) => new Map((n.epochs as EpochRow[]).map((r) => [key(r), r]));
  const [ea, eb] = [epochsOf(a), epochsOf(b)];
  const common = [...ea.keys()].filter((k) => eb.has(k));
  // Every trial's first epoch at least is in both.
  expect(common.length).toBeGreaterThanOrEqual((a.trials as TrialRow[]).length);
  for (const k of common) expect(ea.get(k), k).toEqual(eb.get(k));
  const completedIn = (n: Numbers) => new Map((n.trials as TrialRow[]).filter((t) => t.status === 'completed').map((t) => [t.id, t]));
  const [ca, cb] = [completedIn(a), completedIn(b)];
  const both = [...ca.keys()].filter((id) => cb.has(id));
  expect(both.length).toBeGreaterThan(0);
  for (const id of both) expect(ca.get(id), id).toEqual(cb.get(id));
  const confusionOf = (n: Numbers, id: string) => (n.confusion as { trial_id: string }[]).filter((c) => c.trial_id === id);
  for (const id of both) expect(confusionOf(a, id)).toEqual(confusionOf(b, id));
}

/** Every trial completed or pruned, and each epoch stored once: the rows are as many as the trials' epochs. */
function expectEndedOnce(d: Database.Database): void {
  const statuses = d.prepare(`SELECT DISTINCT status FROM trials`).all() as { status: string }[];
  expect(statuses.every((s) => s.status === 'completed' || s.status === 'pruned')).toBe(true);
  const { stored, counted } = d.prepare(`SELECT (SELECT count(*) FROM epoch_records) AS stored, (SELECT sum(epochs) FROM trials) AS counted`).get() as { stored: number; counted: number };
  expect(stored).toBe(counted);
}

interface AgentProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startAgent(url: string, name: string, extra: string[] = [], env: Record<string, string> = {}): AgentProcess {
  const child = spawn(process.execPath, [CLI, 'agent', '--queue', url, '--name', name, '--workers', '1', '--lock-seconds', '2', ...extra], {
    cwd: ROOT,
    env: { ...process.env, LENET_SWEEP_CACHE: CACHE, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited };
}

/** Waits until `ready` holds (checked every 100 ms), at most 30 s. */
async function waitFor(ready: () => boolean): Promise<void> {
  for (let waited = 0; !ready() && waited < 30_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
}

const agents: AgentProcess[] = [];
const agent = (...args: Parameters<typeof startAgent>) => {
  const a = startAgent(...args);
  agents.push(a);
  return a;
};

let redis: RedisServer;
let local: ReturnType<typeof numbers>;

beforeAll(async () => {
  // The same file on one machine (what the agents' run must equal), while the server starts.
  const db = join(tempDir(), 'local.db');
  const [server, result] = await Promise.all([startRedis(), startCli([writeExperiment(EXPERIMENT), '--db', db, '--workers', '2', '--no-tui'])]);
  redis = server;
  expect(result.code, result.stdout + result.stderr).toBe(0);
  local = numbers(db);
}, 120_000);

/** Each test's agents end with it: an agent left running would take the next test's trials. */
afterEach(async () => {
  const left = agents.splice(0);
  for (const a of left) a.child.kill('SIGKILL');
  await Promise.all(left.map((a) => a.exited));
});

afterAll(async () => {
  await redis?.stop();
});

describe('a sweep across agents', () => {
  it('equals a run on one machine, with an agent killed mid-trial and its trial taken over from its checkpoint', async () => {
    const file = writeExperiment(EXPERIMENT);
    const db = join(tempDir(), 'runs.db');
    const a1 = agent(redis.url, 'one');
    agent(redis.url, 'two');
    let killed: string | undefined;
    const result: CliResult = await startCli([file, '--db', db, '--queue', redis.url, '--no-tui'], (out) => {
      // Once a trial of agent one has stored its first epoch, agent one dies.
      if (killed) return;
      const started = /trial ([0-9a-f]{12}) of spread: started/.exec(a1.output());
      if (started && new RegExp(`${started[1]}.*epoch 1/4`).test(out)) {
        killed = started[1];
        a1.child.kill('SIGKILL');
        agent(redis.url, 'three');
      }
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(killed).toBeDefined();
    const remote = numbers(db);
    expectSameTraining(remote, local);
    const d = new Database(db, { readonly: true });
    try {
      expectEndedOnce(d);
      // The killed agent's attempt was lost; the next one resumed from the checkpoint it had sent.
      const attempts = d.prepare(`SELECT attempt, from_epoch, status, json_extract(provenance, '$.agent') AS agent FROM attempt_records WHERE trial_id = ? ORDER BY attempt`).all(killed) as { attempt: number; from_epoch: number; status: string; agent: string }[];
      expect(attempts[0]).toMatchObject({ status: 'lost', agent: 'one' });
      expect(attempts.at(-1)!.from_epoch).toBeGreaterThanOrEqual(1);
      expect(attempts.at(-1)!.agent).not.toBe('one');
      // The database keeps where each trial trained, and the URL without a password.
      const provenance = JSON.parse((d.prepare(`SELECT provenance FROM trials WHERE id = ?`).get(killed) as { provenance: string }).provenance);
      expect(provenance.queue).toBe(redis.url);
    } finally {
      d.close();
    }
    // The coordinator's checkpoints are complete: the last epoch's of every completed trial.
    const completed = remote.trials.filter((t) => (t as { status: string }).status === 'completed') as { id: string; epochs: number }[];
    for (const t of completed) expect(existsSync(join(`${db}.checkpoints`, t.id, `epoch-${String(t.epochs).padStart(4, '0')}.ckpt`))).toBe(true);
  }, 240_000);

  it('an agent that fuses (--fuse 3) trains the trials it takes as one, judged by the rule through the queue: each epoch stored once, equal to one machine', async () => {
    const file = writeExperiment(EXPERIMENT);
    const db = join(tempDir(), 'runs.db');
    const fusing = agent(redis.url, 'fusing', ['--fuse', '3']);
    const result = await startCli([file, '--db', db, '--queue', redis.url, '--no-tui']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(fusing.output()).toMatch(/agent fusing: .*1 worker, up to 3 trials trained as one on each/);
    expect(result.stdout).toMatch(/agent fusing joined \(1 worker on \S+, up to 3 trials trained as one on each\)/);
    // Trials of one pooling train as one: two have started before any has ended.
    const log = fusing.output().split('\n');
    const starts = log.flatMap((l, i) => (/: started on /.test(l) ? [i] : []));
    const firstEnd = log.findIndex((l) => /of spread: (completed|pruned)$/.test(l));
    expect(starts.length).toBeGreaterThanOrEqual(6);
    expect(starts[1]).toBeLessThan(firstEnd);
    expectSameTraining(numbers(db), local);
    const d = new Database(db, { readonly: true });
    try {
      expectEndedOnce(d);
    } finally {
      d.close();
    }
  }, 240_000);

  it('a fused trial that ends before its group is done with at once: its outcome said, never taken for dropped while the group trains on', async () => {
    const file = writeExperiment(`
name: uneven
training: { epochs: 1, batch_size: 64, seed: 1, limit_train: 256 }
sweep:
  parameters:
    training.epochs: [1, 30]
`);
    const db = join(tempDir(), 'runs.db');
    const fusing = agent(redis.url, 'uneven', ['--fuse', '2']);
    const result = await startCli([file, '--db', db, '--queue', redis.url, '--no-tui']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const d = new Database(db, { readonly: true });
    const trials = d.prepare(`SELECT id, status, epochs, provenance FROM trials ORDER BY epochs`).all() as { id: string; status: string; epochs: number; provenance: string }[];
    d.close();
    expect(trials.map((t) => [t.status, t.epochs])).toEqual([['completed', 1], ['completed', 30]]);
    const [short, long] = trials;
    // They trained as one.
    expect(JSON.parse(short.provenance).beside).toEqual([long.id]);
    await waitFor(() => fusing.output().includes(`trial ${long.id} of uneven: completed`));
    const log = fusing.output();
    // Its coordinator forgot its job as it ended, 29 epochs before its group did: the agent
    // held the job until the group's end, took it for dropped and said so.
    expect(log).not.toMatch(/dropped/);
    expect(log).toMatch(new RegExp(`trial ${short.id} of uneven: completed\\n`));
  }, 240_000);

  it('trials an agent takes one by one while its worker trains a group wait for the worker and then train as one, not each alone', async () => {
    // With --fuse 2: s1e1 and s1e8 train as one; s1e1 ends first and the agent takes s2e1 while
    // the group trains on; s2e8 comes once s1e8 ends. s2e1 and s2e8 can fuse.
    const file = writeExperiment(`
name: oneby
training: { epochs: 1, batch_size: 64, seed: 1, limit_train: 256 }
sweep:
  parameters:
    training.seed: [1, 2]
    training.epochs: [1, 8]
`);
    const db = join(tempDir(), 'runs.db');
    agent(redis.url, 'oneby', ['--fuse', '2']);
    const result = await startCli([file, '--db', db, '--queue', redis.url, '--no-tui']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const d = new Database(db, { readonly: true });
    const trials = d.prepare(`SELECT id, status, config, provenance FROM trials`).all() as { id: string; status: string; config: string; provenance: string }[];
    d.close();
    const named = (t: (typeof trials)[number]) => {
      const { training } = JSON.parse(t.config) as { training: { seed: number; epochs: number } };
      return `s${training.seed}e${training.epochs}`;
    };
    const byName = new Map(trials.map((t) => [named(t), t]));
    const beside = (name: string) => (JSON.parse(byName.get(name)!.provenance) as { beside?: string[] }).beside?.map((id) => named(trials.find((t) => t.id === id)!));
    expect(trials.every((t) => t.status === 'completed')).toBe(true);
    expect(beside('s1e1')).toEqual(['s1e8']);
    expect(beside('s2e1')).toEqual(['s2e8']);
  }, 240_000);

  it('Ctrl-C on the coordinator ends the trials on every agent after their batch, marked interrupted, none left running', async () => {
    const file = writeExperiment(EXPERIMENT.replace('name: spread', 'name: stopped').replace('epochs: 4', 'epochs: 30'));
    const db = join(tempDir(), 'runs.db');
    const a = agent(redis.url, 'four');
    const b = agent(redis.url, 'five');
    let stopped = false;
    const result = await startCli([file, '--db', db, '--queue', redis.url, '--no-tui'], (out, child) => {
      // Both agents train a trial: stop.
      if (!stopped && (out.match(/started on/g) ?? []).length >= 2 && /epoch +1\/30/.test(out)) {
        stopped = true;
        child.kill('SIGINT');
      }
    });
    expect(result.code, result.stdout + result.stderr).toBe(130);
    const d = new Database(db, { readonly: true });
    try {
      const rows = d.prepare(`SELECT status, count(*) AS n FROM trials GROUP BY status ORDER BY status`).all() as { status: string; n: number }[];
      const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
      expect(byStatus.running).toBeUndefined();
      expect(byStatus.interrupted).toBe(2);
      expect(byStatus.queued).toBe(4);
    } finally {
      d.close();
    }
    // The agents ended those trials (not killed) and wait for the next sweep.
    expect(a.output()).toMatch(/: interrupted/);
    expect(b.output()).toMatch(/: interrupted/);
    expect(a.child.exitCode).toBeNull();
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect((await a.exited).code).toBe(143);
  }, 240_000);

  it('goes on when Redis restarts mid-sweep: coordinator and agents reconnect, nothing counted twice', async () => {
    const persistent = await startRedis({ persist: true });
    try {
      // The same name as the local run's (it is part of each trial's id), in another database.
      const file = writeExperiment(EXPERIMENT);
      const db = join(tempDir(), 'runs.db');
      const agents = [agent(persistent.url, 'eight'), agent(persistent.url, 'nine')];
      let restarted: Promise<void> | undefined;
      let coordinator: ChildProcess | undefined;
      // A coordinator that has not ended well within the test's time (it hung once in a CI run,
      // without a word) is killed, so that what it and the agents printed says where it stood.
      const deadline = setTimeout(() => coordinator && process.kill(-coordinator.pid!, 'SIGKILL'), 180_000);
      const result = await startCli(
        [file, '--db', db, '--queue', persistent.url, '--no-tui'],
        (out) => {
          if (!restarted && /epoch 2\/4/.test(out)) restarted = persistent.restart();
        },
        {},
        { onStart: (child) => (coordinator = child) },
      );
      clearTimeout(deadline);
      expect(result.code, `${result.stdout}${result.stderr}\n${agents.map((a) => a.output()).join('\n')}`).toBe(0);
      expect(restarted).toBeDefined();
      await restarted;
      expectSameTraining(numbers(db), local);
      const d = new Database(db, { readonly: true });
      try {
        expectEndedOnce(d);
      } finally {
        d.close();
      }
    } finally {
      await persistent.stop();
    }
  }, 240_000);
});

describe('the coordinator', () => {
  /** How many times each trial was started or resumed on the agents (a job each), by trial id. */
  const startsOnAgents = (...outputs: string[]) => {
    const starts = new Map<string, number>();
    for (const m of outputs.join('\n').matchAll(/trial (\w+) of \S+: (?:started|resumed after epoch \d+) on /g)) starts.set(m[1], (starts.get(m[1]) ?? 0) + 1);
    return starts;
  };
  /** Every trial of the 6 went to an agent once (a job each): none was dropped and handed out again. */
  const expectEachStartedOnce = (...on: AgentProcess[]) => {
    const outputs = on.map((a) => a.output());
    const starts = startsOnAgents(...outputs);
    expect([...starts.values()].every((n) => n === 1), outputs.join('\n')).toBe(true);
    expect(starts.size).toBe(6);
  };
  /**
   * What the coordinator started again says of the trials it adopted, and what the database
   * keeps of them: each adopted trial in one line, none of its stored epochs printed again, and
   * every trial (each trained once, on one agent) has one attempt, its first, none interrupted.
   */
  const expectAdoptedAsOneAttempt = (stdout: string, d: Database.Database) => {
    const adopted = [...stdout.matchAll(/^\[\d+\/6 (\w+)[^\]]*\] adopted from agent \S+ (?:at epoch (\d+)|before its first epoch)$/gm)];
    expect(adopted.some((m) => m[2] !== undefined), stdout).toBe(true);
    for (const [, id, at] of adopted) {
      const again = [...stdout.matchAll(new RegExp(`^\\[\\d+/6 ${id}[^\\]]*\\] epoch (\\d+)/4`, 'gm'))].filter((m) => Number(m[1]) <= Number(at ?? 0));
      expect(again.map((m) => m[0]), stdout).toEqual([]);
    }
    const attempts = d.prepare(`SELECT trial_id, attempt, from_epoch, status FROM attempts ORDER BY trial_id, attempt`).all() as { trial_id: string; attempt: number; from_epoch: number; status: string }[];
    expect(attempts).toHaveLength(6);
    for (const a of attempts) expect(a).toMatchObject({ attempt: 1, from_epoch: 0, status: expect.stringMatching(/^(completed|pruned)$/) });
  };
  /** A coordinator of `file` on `db`, SIGKILLed once it has printed an epoch 2. */
  const killedAtEpoch2 = async (file: string, db: string) => {
    const first = await startCli([file, '--db', db, '--queue', redis.url, '--no-tui'], (out, child) => {
      if (/epoch 2\/4/.test(out)) child.kill('SIGKILL');
    });
    expect(first.signal).toBe('SIGKILL');
  };

  it('killed mid-sweep and started again: its judged trials, waiting on the agents for a verdict, are adopted and go on; nothing is trained twice', async () => {
    const file = writeExperiment(EXPERIMENT);
    const db = join(tempDir(), 'runs.db');
    const a = agent(redis.url, 'ten');
    const b = agent(redis.url, 'eleven');
    await killedAtEpoch2(file, db);
    const again = await startCli([file, '--db', db, '--queue', redis.url, '--no-tui']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expectSameTraining(numbers(db), local);
    const d = new Database(db, { readonly: true });
    try {
      expectEndedOnce(d);
      expectAdoptedAsOneAttempt(again.stdout, d);
    } finally {
      d.close();
    }
    // Each trial went to an agent once: the jobs running when the coordinator died went on
    // there (not dropped and handed out again), and no agent was stuck waiting for a verdict.
    expectEachStartedOnce(a, b);
    expect(a.child.exitCode).toBeNull();
  }, 240_000);

  it('stopped at once (Ctrl-C twice) and started again: the trials its agents ended interrupted train on from their checkpoints, none left interrupted', async () => {
    const file = writeExperiment(EXPERIMENT.replace('name: spread', 'name: forced').replace(/\n  early_terminate:.*\n/, '\n').replace('epochs: 4', 'epochs: 3'));
    const db = join(tempDir(), 'runs.db');
    agent(redis.url, 'thirty');
    agent(redis.url, 'thirty-one');
    let stopped = false;
    const first = await startCli([file, '--db', db, '--queue', redis.url, '--no-tui'], (out, child) => {
      if (!stopped && /epoch 1\/3/.test(out)) {
        stopped = true;
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGINT'), 50);
      }
    });
    expect(first.code, first.stdout + first.stderr).toBe(130);
    const again = await startCli([file, '--db', db, '--queue', redis.url, '--no-tui']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const d = new Database(db, { readonly: true });
    try {
      const statuses = d.prepare(`SELECT status, epochs, count(*) AS n FROM trials GROUP BY status, epochs`).all();
      expect(statuses, again.stdout).toEqual([{ status: 'completed', epochs: 3, n: 6 }]);
    } finally {
      d.close();
    }
  }, 240_000);

  it('killed, with agents finishing its trials while it is away: started again, it takes their results from the stream', async () => {
    const file = writeExperiment(EXPERIMENT.replace(/\n  early_terminate:.*\n/, '\n'));
    const db = join(tempDir(), 'runs.db');
    const a = agent(redis.url, 'twenty');
    const b = agent(redis.url, 'twenty-one');
    await killedAtEpoch2(file, db);
    // Away until the agents have completed two more trials.
    const completed = () => (a.output() + b.output()).match(/: completed/g)?.length ?? 0;
    const before = completed();
    await waitFor(() => completed() >= before + 2);
    expect(completed()).toBeGreaterThanOrEqual(before + 2);
    const again = await startCli([file, '--db', db, '--queue', redis.url, '--no-tui']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const d = new Database(db, { readonly: true });
    try {
      expectEndedOnce(d);
      expect((d.prepare(`SELECT count(*) AS n FROM trials WHERE status = 'completed' AND epochs = 4`).get() as { n: number }).n).toBe(6);
      expectAdoptedAsOneAttempt(again.stdout, d);
    } finally {
      d.close();
    }
    // What the agents trained while no coordinator ran is stored now, and said to be caught up.
    expect(again.stdout).toMatch(/\] epoch \d\/4 .*\(caught up\)$/m);
    expect(again.stdout).toMatch(/\] completed: .*\(caught up\)$/m);
    expectSameTraining(numbers(db), local);
    expectEachStartedOnce(a, b);
  }, 240_000);

  it('started again on another database: nothing is adopted that this database lacks, every trial has all its epochs', async () => {
    const file = writeExperiment(EXPERIMENT);
    const dir = tempDir();
    agent(redis.url, 'forty');
    agent(redis.url, 'forty-one');
    await killedAtEpoch2(file, join(dir, 'first.db'));
    const db = join(dir, 'other.db');
    const again = await startCli([file, '--db', db, '--queue', redis.url, '--no-tui']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const d = new Database(db, { readonly: true });
    try {
      expectEndedOnce(d);
      // Each trial's epochs run from 1 without a gap.
      const gaps = d.prepare(`SELECT trial_id FROM epoch_records GROUP BY trial_id HAVING min(epoch) <> 1 OR max(epoch) <> count(*)`).all();
      expect(gaps).toEqual([]);
    } finally {
      d.close();
    }
    expectSameTraining(numbers(db), local);
  }, 240_000);

  it('started again with its file edited: the agents drop the jobs of trials no longer in it', async () => {
    const long = EXPERIMENT.replace('name: spread', 'name: edited').replace('epochs: 4', 'epochs: 40').replace(/\n  early_terminate:.*\n/, '\n');
    const file = writeExperiment(long);
    const db = join(tempDir(), 'runs.db');
    const a = agent(redis.url, 'thirty');
    const first = await startCli([file, '--db', db, '--queue', redis.url, '--no-tui'], (out, child) => {
      if (/epoch +1\/40/.test(out)) child.kill('SIGKILL');
    });
    expect(first.signal).toBe('SIGKILL');
    const edited = writeExperiment(long.replace('epochs: 40', 'epochs: 2').replace('optimizer.lr: [0.0003, 0.001, 0.003]', 'optimizer.lr: [0.01]'));
    const again = await startCli([edited, '--db', db, '--queue', redis.url, '--no-tui']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    await waitFor(() => /its sweep no longer has it .*; dropped/.test(a.output()));
    expect(a.output()).toMatch(/its sweep no longer has it .*; dropped/);
    // The agent went on to the new file's trials.
    expect(a.output()).toMatch(/: completed/);
  }, 240_000);

  it('without agents it says it waits for them, and Ctrl-C ends it at once, its trials still queued', async () => {
    const empty = await startRedis();
    try {
      const db = join(tempDir(), 'runs.db');
      let stopped = false;
      // The file's sweep.fuse is for one machine: said, since the agents' --fuse decides.
      const file = writeExperiment(EXPERIMENT.replace('  method: grid\n', '  method: grid\n  fuse: 4\n'));
      const result = await startCli([file, '--db', db, '--queue', empty.url, '--no-tui'], (out, child) => {
        // One Ctrl-C, as a person presses it: not one per chunk of output that follows.
        if (!stopped && /waiting for agents/.test(out)) {
          stopped = true;
          child.kill('SIGINT');
        }
      });
      expect(result.code, result.stdout + result.stderr).toBe(130);
      expect(result.stdout).toMatch(/note: waiting for agents: start one with sweep agent --queue redis:\/\/127\.0\.0\.1:\d+/);
      expect(result.stdout).toMatch(/^note: sweep\.fuse 4 is not used with --queue: each agent fuses as its own --fuse says \(sweep agent --queue redis:\/\/127\.0\.0\.1:\d+ --fuse 4\)$/m);
      const d = new Database(db, { readonly: true });
      try {
        expect(d.prepare(`SELECT DISTINCT status FROM trials`).all()).toEqual([{ status: 'queued' }]);
      } finally {
        d.close();
      }
    } finally {
      await empty.stop();
    }
  }, 60_000);

  it('a second coordinator of a running sweep is refused in one line, exit 2, nothing written', async () => {
    const file = writeExperiment(EXPERIMENT.replace('name: spread', 'name: twice').replace('epochs: 4', 'epochs: 30'));
    agent(redis.url, 'twelve');
    let second: CliResult | undefined;
    const first = await startCli([file, '--db', join(tempDir(), 'one.db'), '--queue', redis.url, '--no-tui'], (out, child) => {
      if (second || !/epoch +1\/30/.test(out)) return;
      second = {} as CliResult;
      void startCli([file, '--db', join(tempDir(), 'two.db'), '--queue', redis.url, '--no-tui']).then((r) => {
        second = r;
        child.kill('SIGINT');
      });
    });
    expect(first.code).toBe(130);
    expect(second!.code).toBe(2);
    // Its holder is alive (it renews the lease): no note about waiting for it to lapse.
    expect(second!.stdout).not.toMatch(/waiting for its lease/);
    expect(second!.stderr.trim()).toMatch(/^--queue: sweep 'twice' is being coordinated on redis:\/\/127\.0\.0\.1:\d+ by \S+ \(pid \d+, since .*\); two coordinators of one sweep would train its trials twice/);
  }, 240_000);
});

describe('data on agents', () => {
  it("a trial whose data.dir is not in an agent's folders goes to an agent that has it; with none, it fails saying why", async () => {
    // An IDX folder: the embedded digits' files, copied.
    const folder = join(tempDir(), 'digits');
    cpSync(ensureEmbeddedMnist(join(CACHE, 'mnist-embedded')), folder, { recursive: true });
    const file = writeExperiment(`name: folder\ndata: { dataset: idx, dir: ${folder}, validation: 0.1 }\ntraining: { epochs: 1, batch_size: 64, seed: 1, limit_train: 256 }\n`);
    const without = agent(redis.url, 'fourteen');
    agent(redis.url, 'fifteen', ['--data', join(folder, '..')]);
    const db = join(tempDir(), 'runs.db');
    const result = await startCli([file, '--db', db, '--queue', redis.url, '--no-tui']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const d = new Database(db, { readonly: true });
    try {
      const row = d.prepare(`SELECT status, json_extract(provenance, '$.agent') AS agent FROM trials`).get() as { status: string; agent: string };
      expect(row).toEqual({ status: 'completed', agent: 'fifteen' });
    } finally {
      d.close();
    }
    // Whether agent fourteen was offered it first depends on who asked first; if it was, it said so.
    if (/trial [0-9a-f]{12} of folder/.test(without.output())) expect(without.output()).toMatch(/is not in this agent's data folders.*left for another agent/);

    // With only agents that lack it: failed, with each one's reason. The agents that had it were
    // killed and count no more once their heartbeats lapse (else the trial would wait for them).
    for (const a of agents.splice(0)) a.child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 11_000)); // their heartbeats lapse
    agent(redis.url, 'sixteen');
    const failing = await startCli([file, '--db', join(tempDir(), 'runs.db'), '--queue', redis.url, '--no-tui']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/failed: no agent has its data \(sixteen: data\.dir \S+ is not in this agent's data folders; start the agent with --data/);
  }, 120_000);
});

describe('TLS', () => {
  it('works over rediss:// with the CA given in NODE_EXTRA_CA_CERTS, and says an untrusted certificate in one line', async () => {
    const secure = await startRedis({ tls: true });
    try {
      const env = { NODE_EXTRA_CA_CERTS: secure.caFile! };
      const file = writeExperiment('name: tls\ntraining: { epochs: 1, batch_size: 64, seed: 1, limit_train: 256 }\n');
      const untrusted = await startCli([file, '--db', join(tempDir(), 'runs.db'), '--queue', secure.url]);
      expect(untrusted.code).toBe(2);
      expect(untrusted.stderr.trim()).toMatch(/^--queue: Redis at rediss:\/\/127\.0\.0\.1:\d+ answered, but its TLS certificate is not trusted here/);
      agent(secure.url, 'thirteen', [], env);
      const result = await startCli([file, '--db', join(tempDir(), 'runs.db'), '--queue', secure.url, '--no-tui'], undefined, env);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/completed: best val_acc/);
    } finally {
      await secure.stop();
    }
  }, 120_000);
});

describe('bad input and faults, one line each', () => {
  it('a URL that does not parse: exit 2, nothing written, the password not echoed', async () => {
    const db = join(tempDir(), 'runs.db');
    const result = await startCli([writeExperiment(EXPERIMENT), '--db', db, '--queue', 'redis://user:hunter2@host:99999']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^--queue: .*expected redis:\/\//);
    expect(result.stderr + result.stdout).not.toContain('hunter2');
    expect(existsSync(db)).toBe(false);
  });

  it('a Redis that does not answer: exit 1, nothing written', async () => {
    const db = join(tempDir(), 'runs.db');
    const closed = await startRedis();
    const url = closed.url;
    await closed.stop();
    // The coordinator and an agent at once: neither waits for the other.
    const [result, agentRun] = await Promise.all([startCli([writeExperiment(EXPERIMENT), '--db', db, '--queue', url]), startCli(['agent', '--queue', url])]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^error: Redis at redis:\/\/127\.0\.0\.1:\d+ does not answer \(connection refused\)/);
    expect(existsSync(db)).toBe(false);
    expect(agentRun.code).toBe(1);
    expect(agentRun.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a refused password: exit 2, the password never printed; the right one works and is not stored', async () => {
    const secured = await startRedis({ password: 'hunter2' });
    try {
      const url = `redis://:wrong-one@127.0.0.1:${secured.port}`;
      // The wrong password and none, at once.
      const [wrong, none] = await Promise.all([startCli(['agent', '--queue', url]), startCli(['agent', '--queue', `redis://127.0.0.1:${secured.port}`])]);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr.trim()).toMatch(/^--queue: Redis at redis:\/\/127\.0\.0\.1:\d+ refused the user and password/);
      expect(wrong.stderr + wrong.stdout).not.toContain('wrong-one');
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/asks for a password/);
      // The right password, from the environment: the sweep runs and keeps no trace of it.
      const db = join(tempDir(), 'runs.db');
      const worker = agent(`redis://127.0.0.1:${secured.port}`, 'six', [], { LENET_SWEEP_QUEUE_PASSWORD: 'hunter2' });
      const file = writeExperiment('name: secret\ntraining: { epochs: 1, batch_size: 64, seed: 1, limit_train: 256 }\n');
      const result = await startCli([file, '--db', db, '--queue', secured.url, '--no-tui']);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout + result.stderr + worker.output()).not.toContain('hunter2');
      for (const f of [db, `${db}-wal`]) if (existsSync(f)) expect(readFileSync(f).includes('hunter2')).toBe(false);
    } finally {
      await secured.stop();
    }
  }, 120_000);

  it("an agent's --name: a live agent's is refused in one line, exit 2; one that died on this machine is taken over at once", async () => {
    const first = agent(redis.url, 'named');
    await waitFor(() => /taking trials/.test(first.output()));
    const twin = startAgent(redis.url, 'named');
    const refused = await twin.exited;
    expect(refused.code, twin.output()).toBe(2);
    expect(twin.output().trim()).toMatch(/^--name: an agent named named already takes trials from redis:\/\/127\.0\.0\.1:\d+ \(on \S+, pid \d+\); give this one another --name$/);
    // Killed: its heartbeat lives on for seconds, but its pid is gone, so the name is free now.
    first.child.kill('SIGKILL');
    await first.exited;
    const again = agent(redis.url, 'named');
    await waitFor(() => /taking trials/.test(again.output()) || again.child.exitCode !== null);
    expect(again.child.exitCode, again.output()).toBeNull();
  }, 60_000);

  it('an agent of another version takes nothing: it says so, hands the job back, and exits 2', async () => {
    const queue = new Queue('trials', { prefix: 'lenet-sweep', connection: { host: '127.0.0.1', port: redis.port } });
    try {
      // A job of another version, of another shape too (no lease).
      await queue.add('trial', { version: '0.0.0-other', sweep: 'elsewhere', trialId: 'abcdef012345', config: {}, judged: false }, { jobId: 'elsewhere.abcdef012345.1' });
      const result = await startCli(['agent', '--queue', redis.url, '--name', 'seven']);
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toMatch(/^sweep elsewhere is coordinated by lenet-sweep 0\.0\.0-other and this agent is \d+\.\d+\.\d+/);
      expect(await queue.getJobState('elsewhere.abcdef012345.1')).toBe('waiting');
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  }, 60_000);
});
