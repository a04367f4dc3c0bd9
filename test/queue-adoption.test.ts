/**
 * A coordinator started again adopts what an earlier one left: here, through the coordinator's
 * executor itself (src/queue/queued-trials.ts) on a real Redis, to force an order of events that
 * the CLI tests meet only by chance under load (queue.test.ts saw it twice).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Trial } from '../src/config/experiment.js';
import { CoordinatorLease } from '../src/queue/lease.js';
import { jobId, keys, PREFIX, QUEUE_NAME, type StreamEntry, type TrialJobRecord } from '../src/queue/protocol.js';
import { QueuedTrials } from '../src/queue/queued-trials.js';
import { parseQueueUrl } from '../src/queue/url.js';
import type { Relayed } from '../src/sweep/executor.js';
import type { TrialJob, WorkerEvent } from '../src/worker/messages.js';
import { config } from './experiment-fixture.js';
import { tempDir } from './helpers.js';
import { startRedis, type RedisServer } from './redis-server.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

const SWEEP = 'adoption';
const trial = (id: string): Trial => ({ id, params: {}, config: config() });
const job = (t: Trial, checkpoints: string): TrialJob => ({ trialId: t.id, config: t.config, dataDir: '', gpu: false, judged: false, checkpoints });

async function until(what: string, done: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

describe('a coordinator started again', () => {
  it("adopts a job an agent completed after it began, whose result it had not read yet, and queues it again nowhere", async () => {
    const url = parseQueueUrl(server.url);
    const redis = new Redis(server.url);
    const queue = new Queue(QUEUE_NAME, { prefix: PREFIX, connection: { host: '127.0.0.1', port: server.port } });
    const busy = trial('aaaaaaaaaaaa');
    const left = trial('bbbbbbbbbbbb');
    // The dead coordinator's job of `left`: recorded, no longer in the queue (its agent completed it).
    const earlier = `${SWEEP}.${left.id}.deadbeef.1`;
    await redis.hset(keys.jobs(SWEEP), left.id, JSON.stringify({ job: earlier } satisfies TrialJobRecord));
    const lease = await CoordinatorLease.take(url, SWEEP, () => {});
    const checkpoints = tempDir();
    const trials = new QueuedTrials({ url, sweep: SWEEP, version: 'test', trials: 2, resumable: [busy.id, left.id], checkpoints, lease, log: () => {} });
    try {
      // The reader is kept busy storing an event of another trial…
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let storing = false;
      trials.start(busy, job(busy, checkpoints), async () => {
        storing = true;
        await gate;
      });
      const busyJob = jobId(SWEEP, busy.id, lease.token, 1);
      await until('the first trial is queued', async () => (await queue.getJobState(busyJob)) === 'waiting');
      const add = (entry: StreamEntry) => redis.xadd(keys.events(SWEEP), '*', 'm', JSON.stringify(entry));
      await add({ job: busyJob, attempt: 1, seq: 1, agent: 'one', event: { type: 'progress', trialId: busy.id, epoch: 1, batch: 1, batches: 9 } });
      await until('its event is being stored', () => storing);
      // …when the agent's result of the earlier job arrives, and the runner starts that trial again.
      const finished: WorkerEvent = { type: 'finished', trialId: left.id, status: 'completed', testLoss: 0.5, testAcc: 0.9 };
      await add({ job: earlier, attempt: 1, seq: 1, agent: 'two', event: finished });
      const got: { event: WorkerEvent; relayed?: Relayed }[] = [];
      const task = trials.start(left, job(left, checkpoints), async (event, relayed) => void got.push({ event, relayed }));
      // Long enough for the decision to be made without the result (as it was before the fix).
      await sleep(1000);
      release();
      const ended = await Promise.race([task.ended.then(() => 'ended'), sleep(5000).then(() => 'not ended')]);
      expect(ended).toBe('ended');
      // The result was taken as the trial's (caught up), and the trial was not queued to train again.
      expect(got).toEqual([{ event: finished, relayed: { caughtUp: true } }]);
      const queued = await queue.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
      expect(queued.map((j) => j.id)).toEqual([busyJob]);
    } finally {
      await trials.destroy();
      await queue.close();
      redis.disconnect();
    }
  }, 30_000);
});
