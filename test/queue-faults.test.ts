/**
 * Sweeps across machines, under faults: three agents, each in its own network namespace with its
 * own address (ip netns + veth, as root), train a 12-trial sweep with early termination through a
 * real Redis while agents are killed with SIGKILL five times and one is cut off the network for
 * 30 s. At the end every trial completed or was pruned, each epoch is stored once, and every
 * epoch equals the same trial's on one machine.
 */
import Database from 'better-sqlite3';
import { type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE, CLI, startCli } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';
import { available, createNamespace, removeAll, type Namespace } from './netns.js';
import { startRedis, type RedisServer } from './redis-server.js';

const EXPERIMENT = `
name: faults
training: { epochs: 6, batch_size: 64, seed: 1, limit_train: 2048 }
sweep:
  method: grid
  parameters:
    optimizer.lr: [0.0003, 0.001, 0.003]
    model.pooling: [avg, max]
    model.activation: [relu, tanh]
  early_terminate: { type: hyperband, min_iter: 2, eta: 2 }
`;
const KILLS = 5;
const CUT_MS = 30_000;
/** How long an agent's trial stays its own without a word from it. */
const LOCK_SECONDS = 3;

const unavailable = await available();

function numbers(db: string) {
  const d = new Database(db, { readonly: true });
  try {
    return {
      epochs: d.prepare(`SELECT trial_id, epoch, train_loss, train_acc, val_loss, val_acc, lr FROM epochs ORDER BY trial_id, epoch`).all() as { trial_id: string; epoch: number }[],
      trials: d.prepare(`SELECT id, status, epochs, best_epoch, best_value, test_loss, test_acc FROM trials ORDER BY id`).all() as { id: string; status: string; epochs: number }[],
      stored: (d.prepare(`SELECT count(*) AS n FROM epoch_records`).get() as { n: number }).n,
      attempts: d.prepare(`SELECT trial_id, attempt, from_epoch, status, json_extract(provenance, '$.agent') AS agent FROM attempt_records ORDER BY trial_id, attempt`).all() as { trial_id: string; attempt: number; from_epoch: number; status: string; agent: string }[],
    };
  } finally {
    d.close();
  }
}

interface Agent {
  name: string;
  ns: Namespace;
  child: ChildProcess;
  output: string;
}

let redis: RedisServer | undefined;
const namespaces: Namespace[] = [];

beforeAll(async () => {
  if (unavailable) return;
  for (let i = 0; i < 3; i++) namespaces.push(await createNamespace(i));
  redis = await startRedis({ bind: namespaces.map((n) => n.hostAddress) });
}, 60_000);

afterAll(async () => {
  await removeAll();
  await redis?.stop();
});

describe('a sweep across agents in their own network namespaces', () => {
  it.skipIf(unavailable !== null)(`survives ${KILLS} SIGKILLs and an agent cut off for ${CUT_MS / 1000} s, ending as on one machine${unavailable ? ` (skipped: ${unavailable})` : ''}`, async () => {
    const file = writeExperiment(EXPERIMENT);
    // The same file on one machine, first.
    const localDb = join(tempDir(), 'local.db');
    const single = await startCli([file, '--db', localDb, '--workers', '2', '--no-tui']);
    expect(single.code, single.stdout + single.stderr).toBe(0);
    const local = numbers(localDb);

    const agents: Agent[] = [];
    let started = 0;
    const startAgent = (ns: Namespace) => {
      const name = `agent${ns.index}-${++started}`;
      const child = ns.spawn(process.execPath, [CLI, 'agent', '--queue', `redis://${ns.hostAddress}:${redis!.port}`, '--name', name, '--workers', '1', '--lock-seconds', String(LOCK_SECONDS)], {
        env: { ...process.env, LENET_SWEEP_CACHE: CACHE, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const agent: Agent = { name, ns, child, output: '' };
      child.stdout!.on('data', (d: Buffer) => (agent.output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (agent.output += d.toString()));
      agents.push(agent);
      return agent;
    };
    const live = new Map(namespaces.map((ns) => [ns.index, startAgent(ns)]));
    /** What the coordinator has printed so far: the epochs it stored, trial by trial. */
    let coordinatorOutput = '';
    /**
     * An agent training a trial now (its last line says a trial started or resumed: agent/training.ts's
     * line) of which the coordinator has stored an epoch: killed, the trial resumes from a checkpoint.
     * (Killed before its first epoch, a trial starts over, and a run whose kills all came that early
     * had nothing resumed to check.)
     */
    const busy = (a: Agent) => {
      const training = /trial (\w+) of faults: (started|resumed after epoch \d+) on \S+( \(taken over[^)]*\))?\s*$/.exec(a.output);
      return training !== null && new RegExp(`${training[1]}.*\\] epoch \\d+/`).test(coordinatorOutput);
    };

    const db = join(tempDir(), 'runs.db');
    let done = false;
    const faults: string[] = [];
    // The faults, while the sweep runs: a kill every few seconds of a busy agent (never the cut
    // one), restarted under a new name a moment later; the cut from the second kill on.
    const driver = (async () => {
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      let cut: Promise<void> | undefined;
      for (let kills = 0; kills < KILLS && !done; ) {
        // (The sweep trains 2,048 images a trial so that it outlasts the five kills and the cut:
        // with the compiled kernels, 1,024 left it too short for the fifth kill now and then.)
        await sleep(2000);
        if (kills === 1 && !cut) {
          const victim = live.get(0)!;
          faults.push(`cut ${victim.name}`);
          cut = victim.ns.linkDown().then(async () => {
            await sleep(CUT_MS);
            await victim.ns.linkUp();
            faults.push(`link up ${victim.name}`);
          });
        }
        const candidates = [...live.values()].filter((a) => a.ns.index !== 0 && busy(a));
        if (!candidates.length) continue;
        const victim = candidates[kills % candidates.length];
        victim.child.kill('SIGKILL');
        faults.push(`kill ${victim.name}`);
        kills++;
        await sleep(500);
        live.set(victim.ns.index, startAgent(victim.ns));
      }
      await cut;
    })();
    const result = await startCli([file, '--db', db, '--queue', `redis://127.0.0.1:${redis!.port}`, '--no-tui'], (out) => (coordinatorOutput = out));
    done = true;
    await driver;
    for (const a of live.values()) a.child.kill('SIGKILL');
    const log = `${result.stdout}${result.stderr}\nfaults: ${faults.join(', ')}\n${agents.map((a) => `--- ${a.name}\n${a.output}`).join('\n')}`;
    expect(result.code, log).toBe(0);
    // Every fault happened while the sweep ran.
    expect(faults.filter((f) => f.startsWith('kill')).length, log).toBe(KILLS);
    expect(faults.some((f) => f.startsWith('cut')), log).toBe(true);

    const remote = numbers(db);
    expect(remote.trials).toHaveLength(12);
    expect(remote.trials.every((t) => t.status === 'completed' || t.status === 'pruned'), log).toBe(true);
    // Each epoch stored once: the rows are as many as the trials' epochs.
    expect(remote.stored).toBe(remote.trials.reduce((n, t) => n + t.epochs, 0));
    // Every epoch trained here equals the same trial's epoch on one machine; so does every
    // trial completed in both.
    const localEpochs = new Map(local.epochs.map((e) => [`${e.trial_id}:${e.epoch}`, e]));
    let compared = 0;
    for (const e of remote.epochs) {
      const other = localEpochs.get(`${e.trial_id}:${e.epoch}`);
      if (!other) continue;
      expect(e, `${e.trial_id} epoch ${e.epoch}`).toEqual(other);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(12);
    const localTrials = new Map(local.trials.map((t) => [t.id, t]));
    for (const t of remote.trials) if (t.status === 'completed' && localTrials.get(t.id)?.status === 'completed') expect(t).toEqual(localTrials.get(t.id));
    // Trials were taken over: lost attempts, and attempts that resumed from a checkpoint.
    expect(remote.attempts.filter((a) => a.status === 'lost').length, log).toBeGreaterThanOrEqual(1);
    expect(remote.attempts.some((a) => a.from_epoch > 0), log).toBe(true);
    const lost = remote.attempts.filter((a) => a.status === 'lost').length;
    const resumed = remote.attempts.filter((a) => a.from_epoch > 0).length;
    console.log(`faults: ${faults.join(', ')}; ${remote.attempts.length} attempts at 12 trials, ${lost} lost, ${resumed} resumed from a checkpoint; ${remote.stored} epochs stored, ${compared} compared with one machine's`);
  }, 600_000);
});
