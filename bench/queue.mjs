#!/usr/bin/env node
// npm run bench:queue: how much a coordinator (`sweep FILE --queue URL`) takes, with simulated agents.
//
// Starts Debian's redis-server on a free port (no persistence, files in a temp folder), the real
// coordinator CLI on an experiment file of its own with its database on disk, and simulated
// agents: child processes of this file (`node bench/queue.mjs agent ...`), each hosting a few
// agents. A simulated agent is what the real one is to the coordinator, without the training:
// its own heartbeat key (workers = its concurrency), a BullMQ Worker taking jobs of the 'trials'
// queue, and per trial the events the real agent sends into the sweep's stream: 'started',
// 'progress' every PROGRESS_MS (and at the last batch of each epoch, as the trainer does), each
// epoch's small valid checkpoint uploaded under its key and then its 'epoch', and 'finished'
// (completed, with a 10x10 confusion matrix); it honours the stop key like the real one.
//
// Two measures:
// 1. Event rate: A agents x W slots (LEVELS, default 4,16,32,64,128; WORKERS, default 4), trials
//    of 5 epochs of EPOCH_MS (1000): the events the agents sent per second, and those the
//    coordinator took off the stream (sent minus what is still in it: it deletes each entry once
//    stored, or dropped as stale), over a WINDOW_S window after a warm-up; how far behind it is
//    (the age of the oldest entry still in the stream; XINFO GROUPS lag); the CPU of the
//    coordinator, Redis and the agents; and from the database afterwards, the epochs stored of
//    those sent and the attempts that failed as lost. It keeps up when it takes what is sent
//    and its delay stays under a second or two. Each level ends with a SIGINT (Ctrl-C).
// 2. A queue of BIG_COUNT (10,000) trials of one epoch of BIG_EPOCH_MS (5 ms), served by
//    BIG_AGENTS x BIG_WORKERS (16 x 8) slots: total time, trials/s, the coordinator's peak RSS
//    (VmHWM) and the database's size; stopped after BIG_LIMIT_S (180 s) if it has not finished.
//
// Simulated agents are grouped AGENT_PROCS (8) processes at most: each agent has its own
// connections, heartbeat and BullMQ Worker, as separate machines would. The simulated agents
// use the coordinator's own keys and check their first entry with its parser
// (dist/queue/protocol.js), so a protocol change fails the bench instead of measuring nothing.
// BENCH_CPU_PROF=1 runs the coordinator under --cpu-prof and prints the functions that took its
// main thread's time (self time; a blocking fsync counts). KEEP=1 keeps the temp folder (logs,
// databases). Everything started is killed at the end, also on errors and Ctrl-C (a watchdog
// kills Redis, the coordinator and the agents if this process is killed outright).
import { fork, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

if (process.argv[2] === 'agent') await agentProcess(JSON.parse(process.argv[3]));
else await main();

// ---------------------------------------------------------------------------------------------
// A child process hosting simulated agents.

async function agentProcess(cfg) {
  const { Worker } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const { encodeCheckpoint, storedDigest } = await import(join(root, 'dist/checkpoint/format.js'));
  // Keys and names as the coordinator has them; each process checks its first entry with the coordinator's own parser.
  const { keys, parseEntry, PREFIX, QUEUE_NAME, HEARTBEAT_MS, HEARTBEAT_TTL_MS, CHECKPOINT_TTL_S } = await import(join(root, 'dist/queue/protocol.js'));
  let checked = false;
  const connection = { host: '127.0.0.1', port: cfg.port, maxRetriesPerRequest: null };
  const counts = { started: 0, progress: 0, epoch: 0, finished: 0, skipped: 0, interrupted: 0, uploaded: 0, bytes: 0 };
  const report = () => process.connected && process.send({ type: 'counts', counts });
  const reporter = setInterval(report, 250);
  // The parent gone (killed): nothing of this process stays.
  process.on('disconnect', () => process.exit(0));

  // A trial's checkpoint: the real format (it must decode, and name its trial and epoch), tiny tensors.
  const floats = new Float32Array(cfg.checkpointFloats).map((_, i) => Math.sin(i));
  const order = new Uint32Array(cfg.checkpointFloats).map((_, i) => i);
  const checkpoint = (trialId, epoch, history) =>
    encodeCheckpoint({
      trialId,
      epoch,
      inputSize: 28,
      state: { rng: 1, augmentRng: 2, optimizerSteps: epoch * 4, schedule: null, firstTrainLoss: history[0].train_loss },
      history,
      tensors: new Map([
        ['model.conv1.kernel', { dtype: 'float32', shape: [floats.length], values: floats }],
        ['order', { dtype: 'uint32', shape: [order.length], values: order }],
      ]),
    });
  // As a trained model's: the diagonal and a few confusions per digit (cells at 0 are not stored).
  const confusion = () => Array.from({ length: 10 }, (_, a) => Array.from({ length: 10 }, (_, p) => (a === p ? 950 : (p - a + 10) % 10 <= 4 ? 3 : 0)));

  function agent(name) {
    const redis = new Redis({ ...connection, connectionName: 'bench-agent' });
    redis.on('error', () => {});
    const running = new Set();
    let epochs = 0;
    let slot = 0;
    const key = keys.agent(name);
    const info = () =>
      JSON.stringify({ name, host: hostname(), version: cfg.version, workers: cfg.workers, busy: running.size, epochs, images: epochs * 256, pid: process.pid });
    const heartbeat = () => redis.set(key, info(), 'PX', HEARTBEAT_TTL_MS).catch(() => {});
    const timers = [
      setInterval(heartbeat, HEARTBEAT_MS),
      // The stop key of each sweep with a running trial, every 500 ms, as the real agent reads it.
      setInterval(async () => {
        for (const sweep of new Set([...running].map((r) => r.sweep))) {
          if (await redis.exists(keys.stop(sweep)).catch(() => 0)) for (const r of running) if (r.sweep === sweep) r.stop = true;
        }
      }, 500),
    ];

    async function trial(job) {
      const { sweep, trialId, config } = job.data;
      const attempt = job.attemptsStarted;
      const stream = keys.events(sweep);
      let seq = 0;
      const send = async (event, upload) => {
        const m = JSON.stringify({ job: job.id, attempt, seq: ++seq, agent: name, event, ...(upload ? { upload } : {}) });
        if (!checked) {
          if (!parseEntry(['m', m])) {
            console.error(`bench:queue: the coordinator's parseEntry refuses the simulated agents' entries (src/queue/protocol.ts changed?): ${m}`);
            process.exit(3);
          }
          checked = true;
        }
        await redis.xadd(stream, '*', 'm', m);
        counts[event.type]++;
      };
      if (await redis.exists(keys.stop(sweep))) {
        await send({ type: 'skipped', trialId });
        return 'skipped';
      }
      const run = { sweep, stop: false };
      running.add(run);
      try {
        const batches = 4;
        await send({ type: 'started', trialId, worker: slot++ % cfg.workers, backend: 'wasm', paramCount: 61706, batchesPerEpoch: batches, resumedFrom: 0, agent: name });
        const history = [];
        for (let epoch = 1; epoch <= config.training.epochs; epoch++) {
          const start = performance.now();
          const end = start + cfg.epochMs;
          for (let next = start + cfg.progressMs; next < end && !run.stop; next += cfg.progressMs) {
            await sleep(next - performance.now());
            await send({ type: 'progress', trialId, epoch, batch: Math.max(1, Math.floor((batches * (next - start)) / cfg.epochMs)), batches });
          }
          await sleep(end - performance.now());
          if (run.stop) {
            counts.interrupted++;
            await send({ type: 'finished', trialId, status: 'interrupted', testLoss: null, testAcc: null });
            return 'interrupted';
          }
          await send({ type: 'progress', trialId, epoch, batch: batches, batches });
          const metrics = {
            epoch,
            train_loss: 2 / epoch,
            train_acc: 1 - 0.5 / epoch,
            val_loss: 2.1 / epoch,
            val_acc: 1 - 0.6 / epoch - Math.random() * 0.01,
            lr: config.optimizer?.lr ?? 0.001,
            seconds: cfg.epochMs / 1000,
            images_per_s: 256 / (cfg.epochMs / 1000),
          };
          history.push(metrics);
          const bytes = checkpoint(trialId, epoch, history);
          const upload = keys.upload(sweep, trialId, attempt, epoch);
          await redis.set(upload, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), 'EX', CHECKPOINT_TTL_S);
          counts.uploaded++;
          counts.bytes += bytes.length;
          await send({ type: 'epoch', trialId, metrics, checkpoint: { epoch, path: '', bytes: bytes.length, sha256: storedDigest(bytes) } }, upload);
          epochs++;
        }
        await send({ type: 'finished', trialId, status: 'completed', testLoss: 0.3, testAcc: 0.9, confusion: confusion() });
        return 'completed';
      } finally {
        running.delete(run);
      }
    }

    let worker;
    const ready = heartbeat().then(() => {
      worker = new Worker(QUEUE_NAME, (job) => trial(job), {
        prefix: PREFIX,
        connection,
        concurrency: cfg.workers,
        lockDuration: 30_000,
        stalledInterval: 15_000,
        maxStalledCount: 10,
      });
      worker.on('error', () => {});
      return worker.waitUntilReady();
    });
    return {
      ready,
      async close() {
        for (const t of timers) clearInterval(t);
        for (const r of running) r.stop = true;
        await worker?.close();
        await redis.del(key).catch(() => {});
        redis.disconnect();
      },
    };
  }

  const agents = cfg.names.map(agent);
  await Promise.all(agents.map((a) => a.ready));
  process.send({ type: 'ready' });
  process.on('message', async (m) => {
    if (m?.type !== 'close') return;
    await Promise.race([Promise.all(agents.map((a) => a.close())), sleep(8000)]);
    clearInterval(reporter);
    report();
    process.disconnect();
    process.exit(0);
  });
}

// ---------------------------------------------------------------------------------------------
// The bench.

async function main() {
  const env = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
  const LEVELS = (process.env.LEVELS ?? '4,16,32,64,128').split(',').filter(Boolean).map(Number);
  const W = env('WORKERS', 4);
  const EPOCH_MS = env('EPOCH_MS', 1000);
  const PROGRESS_MS = env('PROGRESS_MS', 250);
  const WARMUP_S = env('WARMUP_S', 4);
  const WINDOW_S = env('WINDOW_S', 12);
  const DRAIN_S = env('DRAIN_S', 15);
  const BIG_COUNT = env('BIG_COUNT', 10_000);
  const BIG_AGENTS = env('BIG_AGENTS', 16);
  const BIG_WORKERS = env('BIG_WORKERS', 8);
  const BIG_EPOCH_MS = env('BIG_EPOCH_MS', 5);
  const BIG_LIMIT_S = env('BIG_LIMIT_S', 180);
  const CHECKPOINT_FLOATS = env('CHECKPOINT_FLOATS', 256);
  /** Agents per child process at most (64 Node processes would measure the 2 cores' scheduler). */
  const PROCS = env('AGENT_PROCS', 8);
  const PROFILE = Boolean(process.env.BENCH_CPU_PROF);

  const { Redis } = await import('ioredis');
  const Database = (await import('better-sqlite3')).default;
  const work = mkdtempSync(join(tmpdir(), 'lenet-sweep-bench-queue-'));
  const cache = process.env.LENET_SWEEP_CACHE ?? join(work, 'cache');
  const cli = join(root, 'dist/cli/main.js');
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;

  // Everything started, killed at the end however the bench ends.
  const children = new Set();
  const killAll = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.on('exit', () => {
    killAll();
    if (!process.env.KEEP) rmSync(work, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
  /** A process that dies with this one even if this one is SIGKILLed: a watchdog reading a pipe kills it. */
  const guard = (child) => {
    children.add(child);
    child.on('exit', () => children.delete(child));
    const watchdog = spawn('sh', ['-c', 'read _ ; kill -KILL "$1" 2>/dev/null', 'watchdog', String(child.pid)], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    watchdog.on('error', () => {});
    watchdog.unref();
    watchdog.stdin.unref?.();
    child.on('exit', () => watchdog.kill('SIGKILL'));
    return child;
  };
  const exited = (child) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve)));
  const stopProcess = async (child, signal, waitMs) => {
    if (child.exitCode !== null || child.signalCode !== null) return true;
    child.kill(signal);
    const done = await Promise.race([exited(child).then(() => true), sleep(waitMs).then(() => false)]);
    if (!done) {
      child.kill('SIGKILL');
      await exited(child);
    }
    return done;
  };

  // Redis.
  const port = await new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const p = server.address().port;
      server.close(() => resolve(p));
    });
  });
  const redisDir = join(work, 'redis');
  mkdirSync(redisDir);
  const redisServer = guard(
    spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir, '--logfile', join(redisDir, 'redis.log')], {
      stdio: 'ignore',
    }),
  );
  const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null, lazyConnect: true });
  redis.on('error', () => {});
  for (let i = 0; ; i++) {
    try {
      await redis.connect();
      await redis.ping();
      break;
    } catch {
      if (i > 100) throw new Error(`redis-server on port ${port} did not answer (log: ${join(redisDir, 'redis.log')})`);
      redis.disconnect();
      await sleep(100);
    }
  }
  const url = `redis://127.0.0.1:${port}`;
  const { keys } = await import(join(root, 'dist/queue/protocol.js'));
  const stream = keys.events('load');
  const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`bench:queue — redis-server ${port}, work folder ${work}, ${hostnameCores()}, load average ${loadavg()} before`);

  function experiment(name, epochs, count) {
    const path = join(work, `${name}.yaml`);
    writeFileSync(
      path,
      `name: load\ntraining: { epochs: ${epochs}, batch_size: 64, seed: 1, limit_train: 256 }\n` +
        `sweep:\n  method: random\n  count: ${count}\n  seed: 1\n  parameters:\n    optimizer.lr: { distribution: log_uniform_values, min: 0.0001, max: 0.01 }\n`,
    );
    return path;
  }

  /** Starts A simulated agents of `workers` slots in up to PROCS child processes; resolves once they all take jobs. */
  async function startAgents(count, workers, epochMs, tag) {
    const procs = Math.min(count, PROCS);
    const group = [];
    for (let p = 0; p < procs; p++) {
      const names = [];
      for (let a = p; a < count; a += procs) names.push(`bench-${tag}-${a}`);
      const cfg = { port, names, workers, epochMs, progressMs: PROGRESS_MS, version, checkpointFloats: CHECKPOINT_FLOATS };
      const child = guard(fork(self, ['agent', JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      const entry = { child, counts: {}, ready: null, closing: false };
      child.on('exit', (code, signal) => {
        if (entry.closing) return;
        console.error(`bench:queue: a simulated agent process ended unexpectedly (${code ?? signal}); stopping the bench`);
        process.exit(1);
      });
      entry.ready = new Promise((resolve, reject) => {
        child.on('message', (m) => {
          if (m.type === 'counts') entry.counts = m.counts;
          if (m.type === 'ready') resolve();
        });
        child.once('exit', (code) => reject(new Error(`a simulated agent process exited (${code}) before it was ready`)));
      });
      group.push(entry);
    }
    await Promise.all(group.map((g) => g.ready));
    return {
      pids: group.map((g) => g.child.pid),
      sent() {
        const total = {};
        for (const g of group) for (const [k, v] of Object.entries(g.counts)) total[k] = (total[k] ?? 0) + v;
        total.events = (total.started ?? 0) + (total.progress ?? 0) + (total.epoch ?? 0) + (total.finished ?? 0) + (total.skipped ?? 0);
        return total;
      },
      async close() {
        await Promise.all(
          group.map(async (entry) => {
            const { child } = entry;
            entry.closing = true;
            if (child.connected) child.send({ type: 'close' });
            await Promise.race([exited(child), sleep(10_000)]);
            if (child.exitCode === null && child.signalCode === null) await stopProcess(child, 'SIGKILL', 1000);
          }),
        );
      },
    };
  }

  function startCoordinator(file, db, tag) {
    const log = join(work, `${tag}.log`);
    const out = openSync(log, 'w');
    const profDir = join(work, `${tag}-prof`);
    const args = [...(PROFILE ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), cli, file, '--queue', url, '--db', db, '--no-tui'];
    const child = guard(spawn(process.execPath, args, { cwd: work, env: { ...process.env, LENET_SWEEP_CACHE: cache }, stdio: ['ignore', out, out] }));
    closeSync(out);
    return { child, log, profDir };
  }

  /** How far behind the coordinator is: the stream's length, the age of its oldest entry, the group's lag and pending. */
  async function streamState() {
    const [len, first, groups] = await Promise.all([
      redis.xlen(stream),
      redis.xrange(stream, '-', '+', 'COUNT', 1),
      redis.call('XINFO', 'GROUPS', stream).catch(() => []),
    ]);
    const group = Object.fromEntries(
      (groups.find((g) => g[1] === 'coordinator') ?? []).reduce((pairs, v, i, all) => (i % 2 ? pairs : [...pairs, [v, all[i + 1]]]), []),
    );
    const ageMs = first.length ? Date.now() - Number(first[0][0].split('-')[0]) : 0;
    return { len, ageMs, lag: group.lag ?? null, pending: group.pending ?? 0 };
  }

  const memory = (pid) => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
      return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
    } catch {
      return null;
    }
  };
  const cpuSeconds = (pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return null;
    }
  };
  const sizeOf = (path) => {
    if (!existsSync(path)) return { bytes: 0, files: 0 };
    const s = statSync(path);
    if (!s.isDirectory()) return { bytes: s.size, files: 1 };
    let bytes = 0;
    let files = 0;
    for (const e of readdirSync(path)) {
      const sub = sizeOf(join(path, e));
      bytes += sub.bytes;
      files += sub.files;
    }
    return { bytes, files };
  };
  const readDb = (db) => {
    const conn = new Database(db, { readonly: true, fileMustExist: true });
    try {
      const one = (sql) => conn.prepare(sql).pluck().get();
      const byStatus = Object.fromEntries(conn.prepare('SELECT status, count(*) AS n FROM trial_records GROUP BY status').all().map((r) => [r.status, r.n]));
      return {
        epochs: one('SELECT count(*) FROM epoch_records'),
        started: one('SELECT count(*) FROM trial_records WHERE started_at IS NOT NULL'),
        attempts: one('SELECT count(*) FROM attempt_records'),
        retried: one('SELECT count(*) FROM (SELECT trial_id FROM attempt_records GROUP BY trial_id HAVING count(*) > 1)'),
        confusion: one('SELECT count(DISTINCT trial_id) FROM confusion_records'),
        byStatus,
        errors: conn.prepare(`SELECT error, count(*) AS n FROM attempt_records WHERE error IS NOT NULL GROUP BY error ORDER BY n DESC LIMIT 3`).all(),
      };
    } finally {
      conn.close();
    }
  };
  const fresh = async () => {
    await redis.flushall();
  };
  const waitFor = async (what, test, limitMs) => {
    const deadline = Date.now() + limitMs;
    while (!(await test())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  };
  const logTail = (log) => readFileSync(log, 'utf8').split('\n').slice(-15).join('\n');
  const profiles = [];

  // The dataset is prepared (converted once into the cache) before anything is measured.
  {
    const t = Date.now();
    const file = experiment('prepare', 1, 1);
    const { child } = startCoordinator(file, join(work, 'prepare.db'), 'prepare');
    // No agent: it prepares, opens the database and waits for one.
    await waitFor('the coordinator to start', () => existsSync(join(work, 'prepare.db')), 60_000);
    await sleep(300);
    // (With no agent, the first Ctrl-C may not end it: its loops wait for a slot no agent gives.)
    const first = await stopProcess(child, 'SIGINT', 2000);
    if (!first) console.log('note: a coordinator with no agent did not end on the first SIGINT within 2 s (ended by SIGKILL)');
    console.log(`(dataset prepared, coordinator started and stopped once: ${((Date.now() - t) / 1000).toFixed(1)} s)\n`);
    await fresh();
  }

  // 1. Event rate per level.
  const levels = [];
  for (const A of LEVELS) {
    await fresh();
    const slots = A * W;
    const trialMs = 5 * EPOCH_MS;
    const count = Math.ceil(slots * ((WARMUP_S + WINDOW_S + 10) * 1000 / trialMs + 2));
    const file = experiment(`level-${A}`, 5, count);
    const db = join(work, `level-${A}.db`);
    const agents = await startAgents(A, W, EPOCH_MS, `l${A}`);
    const t0 = Date.now();
    const { child, log, profDir } = startCoordinator(file, db, `level-${A}`);
    await waitFor('the first trial to start', () => (agents.sent().started ?? 0) > 0 || child.exitCode !== null, 60_000);
    if (child.exitCode !== null) throw new Error(`the coordinator exited (${child.exitCode}):\n${logTail(log)}`);
    const startup = (Date.now() - t0) / 1000;
    await sleep(WARMUP_S * 1000);
    const cpus = () => ({ coordinator: cpuSeconds(child.pid), redis: cpuSeconds(redisServer.pid), agents: agents.pids.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0) });
    const begin = { at: performance.now(), sent: agents.sent(), stream: await streamState(), cpu: cpus() };
    const samples = [];
    // The coordinator's main thread, every 20 ms: running (R), waiting for the disk (D: fsync, unlink), or idle (S: waiting for Redis or for work).
    const states = { R: 0, D: 0, S: 0 };
    const stateTimer = setInterval(() => {
      const state = threadState(child.pid);
      if (state) states[state in states ? state : 'S']++;
    }, 20);
    while (performance.now() - begin.at < WINDOW_S * 1000) {
      await sleep(500);
      samples.push({ t: (performance.now() - begin.at) / 1000, ...(await streamState()), mem: memory(child.pid) });
    }
    const end = { at: performance.now(), sent: agents.sent(), stream: await streamState(), cpu: cpus() };
    clearInterval(stateTimer);
    const stateCount = states.R + states.D + states.S || 1;
    const seconds = (end.at - begin.at) / 1000;
    // Stopped as a user would (Ctrl-C): the running trials end as interrupted, the rest stay queued.
    const stopAt = performance.now();
    const drained = await stopProcess(child, 'SIGINT', DRAIN_S * 1000);
    const drainS = (performance.now() - stopAt) / 1000;
    const finalStream = await streamState().catch(() => ({ len: null }));
    await agents.close();
    const sent = agents.sent();
    const stored = readDb(db);
    const offered = (end.sent.events - begin.sent.events) / seconds;
    const written = (end.sent.events - end.stream.len - (begin.sent.events - begin.stream.len)) / seconds;
    const epochsRate = (end.sent.epoch - begin.sent.epoch) / seconds;
    const half = samples.filter((s) => s.t >= WINDOW_S / 2);
    const maxAge = Math.max(...samples.map((s) => s.ageMs));
    const lateAge = Math.max(...half.map((s) => s.ageMs));
    const maxLag = Math.max(...samples.map((s) => s.lag ?? s.len));
    const keepsUp = written >= 0.95 * offered && end.stream.ageMs < 2000 && lateAge < 3000;
    const level = {
      A,
      slots,
      count,
      startup,
      offered,
      written,
      epochsRate,
      mainThread: { R: states.R / stateCount, D: states.D / stateCount },
      cpu: Object.fromEntries(Object.keys(begin.cpu).map((k) => [k, begin.cpu[k] === null || end.cpu[k] === null ? null : (end.cpu[k] - begin.cpu[k]) / seconds])),
      endAge: end.stream.ageMs,
      maxAge,
      endLag: end.stream.lag ?? end.stream.len,
      maxLag,
      pending: Math.max(...samples.map((s) => s.pending)),
      rss: Math.max(...samples.map((s) => s.mem?.rss ?? 0)),
      keepsUp,
      drained,
      drainS,
      leftInStream: finalStream.len,
      sent,
      stored,
    };
    levels.push(level);
    console.log(
      `A=${A} x W=${W} (${slots} slots, ${count} trials): sent ${offered.toFixed(0)} events/s (${epochsRate.toFixed(0)} epochs/s), coordinator took ${written.toFixed(0)}/s off the stream, ` +
        `oldest unread entry ${(end.stream.ageMs / 1000).toFixed(1)} s old at the end (max ${(maxAge / 1000).toFixed(1)} s), lag ${level.endLag} — ${keepsUp ? 'keeps up' : 'FALLS BEHIND'}; ` +
        `stop (SIGINT): ${drained ? `exited after ${drainS.toFixed(1)} s` : `killed after ${DRAIN_S} s`}, ${finalStream.len} entries left unread; ` +
        `database: ${stored.epochs} epoch rows of ${sent.epoch} sent, ${stored.byStatus.completed ?? 0} completed, ${stored.attempts} attempts (${stored.retried} trials retried)`,
    );
    if (stored.errors.length) console.log(`  errors: ${stored.errors.map((e) => `${e.n}× ${e.error}`).join('; ')}`);
    if (PROFILE) profiles.push({ name: `level A=${A}`, dir: profDir });
  }

  // 2. A queue of BIG_COUNT one-epoch trials.
  await fresh();
  let big;
  {
    const file = experiment('big', 1, BIG_COUNT);
    const db = join(work, 'big.db');
    const agents = await startAgents(BIG_AGENTS, BIG_WORKERS, BIG_EPOCH_MS, 'big');
    const t0 = performance.now();
    const { child, log, profDir } = startCoordinator(file, db, 'big');
    let hwm = 0;
    let maxAge = 0;
    // When the last trial's result was taken off the stream (before the coordinator's ending: its leaderboard), and its RSS then.
    let storedAt = null;
    let rssStored = null;
    const sampler = setInterval(async () => {
      const m = memory(child.pid);
      if (m) hwm = Math.max(hwm, m.hwm);
      try {
        const state = await streamState();
        maxAge = Math.max(maxAge, state.ageMs);
        if (storedAt === null && (agents.sent().finished ?? 0) >= BIG_COUNT && state.len === 0) {
          storedAt = performance.now();
          rssStored = m?.rss ?? null;
        }
      } catch {}
    }, 200);
    await waitFor('the first trial to start', () => (agents.sent().started ?? 0) > 0 || child.exitCode !== null, 60_000);
    const firstAt = performance.now();
    const startup = (firstAt - t0) / 1000;
    let lastPrint = performance.now();
    const finishedDone = () => agents.sent().finished ?? 0;
    let timedOut = false;
    while (child.exitCode === null && child.signalCode === null) {
      if (performance.now() - firstAt > BIG_LIMIT_S * 1000) {
        timedOut = true;
        break;
      }
      if (performance.now() - lastPrint > 15_000) {
        lastPrint = performance.now();
        console.log(`  … ${finishedDone()} trials finished after ${((lastPrint - firstAt) / 1000).toFixed(0)} s`);
      }
      await sleep(200);
    }
    const endAt = performance.now();
    if (timedOut) await stopProcess(child, 'SIGINT', DRAIN_S * 1000);
    clearInterval(sampler);
    const m = memory(child.pid);
    if (m) hwm = Math.max(hwm, m.hwm);
    await agents.close();
    const sent = agents.sent();
    const stored = readDb(db);
    const completed = stored.byStatus.completed ?? 0;
    const seconds = (endAt - firstAt) / 1000;
    const dbBytes = sizeOf(db).bytes + sizeOf(`${db}-wal`).bytes + sizeOf(`${db}-shm`).bytes;
    const ckpt = sizeOf(`${db}.checkpoints`);
    const storedS = storedAt === null ? null : (storedAt - firstAt) / 1000;
    big = { count: BIG_COUNT, agents: BIG_AGENTS, workers: BIG_WORKERS, startup, seconds, timedOut, completed, rate: completed / (storedS ?? seconds), hwm, rssStored, dbBytes, ckpt, sent, stored, code: child.exitCode, maxAge, storedS };
    console.log(
      `\n${BIG_COUNT} trials on ${BIG_AGENTS} x ${BIG_WORKERS} slots (${BIG_EPOCH_MS} ms epochs): ${timedOut ? `STOPPED after ${BIG_LIMIT_S} s with ` : ''}${completed} completed in ${seconds.toFixed(1)} s from the first start to the coordinator's exit ` +
        `(${big.rate.toFixed(1)} trials/s; the coordinator took ${startup.toFixed(1)} s to start, exit code ${child.exitCode}), ` +
        `peak RSS ${(hwm / 2 ** 20).toFixed(0)} MiB, database ${(dbBytes / 2 ** 20).toFixed(1)} MiB + ${ckpt.files} checkpoint files (${(ckpt.bytes / 2 ** 20).toFixed(1)} MiB), ` +
        `stream delay up to ${(maxAge / 1000).toFixed(1)} s; ${stored.attempts} attempts (${stored.retried} trials retried)` +
      (storedS === null ? '' : `; the last result was taken off the stream after ${storedS.toFixed(1)} s (RSS then ${((rssStored ?? 0) / 2 ** 20).toFixed(0)} MiB), the coordinator exited ${(seconds - storedS).toFixed(1)} s later`),
    );
    if (stored.errors.length) console.log(`  errors: ${stored.errors.map((e) => `${e.n}× ${e.error}`).join('; ')}`);
    if (timedOut || child.exitCode !== 0) console.log(`  coordinator log (${log}):\n${logTail(log)}`);
    if (PROFILE) profiles.push({ name: 'queue of trials', dir: profDir });
  }

  // The table.
  const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const pct = (x) => (x === null || x === undefined ? '?' : `${(x * 100).toFixed(0)}%`);
  console.log(
    `\nCoordinator throughput (${W} slots per agent, 5 epochs of ${EPOCH_MS} ms, progress every ${PROGRESS_MS} ms, ` +
      `${((levels[0]?.sent.bytes ?? 0) / Math.max(1, levels[0]?.sent.uploaded ?? 1) / 1024).toFixed(1)} KiB checkpoints; ${WINDOW_S} s window; CPU: share of one core):`,
  );
  console.log('| agents | slots | events/s sent | events/s taken | epochs/s sent | delay at end (max) | coordinator CPU | its main thread in disk wait | Redis CPU | agents CPU | epochs stored / sent | attempts failed as lost | keeps up |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|');
  for (const l of levels) {
    const lost = l.stored.errors.filter((e) => /without sending its result/.test(e.error)).reduce((sum, e) => sum + e.n, 0);
    console.log(
      `| ${l.A} | ${l.slots} | ${l.offered.toFixed(0)} | ${l.written.toFixed(0)} | ${l.epochsRate.toFixed(0)} | ${(l.endAge / 1000).toFixed(1)} s (${(l.maxAge / 1000).toFixed(1)} s) | ` +
        `${pct(l.cpu.coordinator)} | ${pct(l.mainThread.D)} | ${pct(l.cpu.redis)} | ${pct(l.cpu.agents)} | ${l.stored.epochs} / ${l.sent.epoch} | ${lost} | ${l.keepsUp ? 'yes' : 'no'} |`,
    );
  }
  const kept = levels.filter((l) => l.keepsUp).map((l) => l.A);
  console.log(`largest number of agents it kept up with: ${kept.length ? Math.max(...kept) : 'none'}${kept.length === levels.length ? ' (all levels)' : ''}`);
  console.log(`\nQueue of ${big.count} trials (1 epoch each), ${big.agents} agents x ${big.workers} slots:`);
  console.log('| trials completed | time to the last result (to exit) | trials/s | coordinator peak RSS (at the last result) | database | checkpoint files |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  console.log(
    `| ${big.completed}${big.timedOut ? ` of ${big.count} (stopped)` : ''} | ${big.storedS === null ? '?' : `${big.storedS.toFixed(0)} s`} (${big.seconds.toFixed(0)} s) | ${big.rate.toFixed(1)} | ` +
      `${mib(big.hwm)} (${big.rssStored === null ? '?' : mib(big.rssStored)}) | ${(big.dbBytes / 2 ** 20).toFixed(1)} MiB | ${big.ckpt.files} (${(big.ckpt.bytes / 2 ** 20).toFixed(1)} MiB) |`,
  );

  console.log(`(load average ${loadavg()} at the end: other programs on the machine take cores from the coordinator, Redis and the agents alike)`);
  for (const p of profiles) printProfile(p);

  redis.disconnect();
  await stopProcess(redisServer, 'SIGTERM', 3000);
  if (process.env.KEEP) console.log(`\n(kept ${work})`);
}

/** The state letter of a process's main thread (R running, D disk wait, S sleeping), or null once it is gone. */
function threadState(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1][0];
  } catch {
    return null;
  }
}

function hostnameCores() {
  return `${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? '?'} cores`;
}

/** The functions that took the coordinator's time, by self time, from its .cpuprofile. */
function printProfile({ name, dir }) {
  if (!existsSync(dir)) return console.log(`\n(no profile of ${name}: the coordinator did not exit normally)`);
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    const self = new Map();
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const dt = new Map();
    profile.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    let total = 0;
    for (const [id, us] of dt) {
      const { callFrame: c } = byId.get(id);
      const key = `${c.functionName || '(anonymous)'} ${c.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${c.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + us);
      total += us;
    }
    const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((s, [, v]) => s + v, 0);
    console.log(`\nprofile of the coordinator, ${name}: ${(total / 1e6).toFixed(1)} s sampled, ${(((total - idle) / total) * 100).toFixed(0)}% busy; top self time:`);
    for (const [k, us] of [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 15)) {
      console.log(`  ${((us / (total - idle)) * 100).toFixed(1).padStart(5)}%  ${k}`);
    }
  }
}
