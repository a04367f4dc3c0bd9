/**
 * `sweep agent --queue URL [--workers N] [--fuse K] [--backend NAME] [--gpus LIST] [--name NAME]
 * [--data DIR]... [--lock-seconds S]`: takes trials of any sweep coordinated on that Redis and
 * trains them here, until stopped. Ctrl-C (or SIGTERM) stops taking trials and lets the running
 * ones finish; a second one ends them after their batch, and their trials go back to the queue
 * for other agents, which resume them from their last checkpoints.
 */
import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { AUTO_ORDER, defaultFuse, plannedBackend, type BackendChoice } from '../backend/choice.js';
import { UserError } from '../config/errors.js';
import { Agent } from '../agent/agent.js';
import { checkConnection } from '../queue/redis.js';
import { parseQueueUrl } from '../queue/url.js';
import { parse, positiveInt } from './args.js';
import { AGENT } from './commands.js';
import { planGpus } from '../sweep/gpu-plan.js';
import { fitAgentToMachine } from '../sweep/machine-fit.js';
import { fuseOption } from '../sweep/options.js';
import { packageVersion } from '../version.js';
import { STOP_SIGNALS, type StopSignal } from '../util/signals.js';

const BACKENDS: BackendChoice[] = ['auto', ...AUTO_ORDER];
const DEFAULT_LOCK_SECONDS = 30;

export async function agentCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, AGENT);
  if (positionals.length) throw new UserError(`sweep agent: takes no file ('${positionals[0]}'): the coordinator (sweep FILE --queue URL) sends the trials`);
  if (values.queue === undefined) throw new UserError('sweep agent: --queue URL is required, e.g. sweep agent --queue redis://host:6379');
  const url = parseQueueUrl(values.queue);
  const requested = positiveInt(values.workers, 'workers');
  const lockSeconds = values['lock-seconds'] === undefined ? DEFAULT_LOCK_SECONDS : Number(values['lock-seconds']);
  if (!Number.isFinite(lockSeconds) || lockSeconds < 1 || lockSeconds > 3600) throw new UserError(`--lock-seconds: expected a number of seconds from 1 to 3600, found '${values['lock-seconds']}'`);
  const backend = values.backend as BackendChoice | undefined;
  if (backend !== undefined && !BACKENDS.includes(backend)) throw new UserError(`--backend: expected one of ${BACKENDS.join(', ')}, found '${backend}'`);
  const name = values.name ?? `${hostname()}-${process.pid}`;
  if (!/^[\w.@-]{1,64}$/.test(name)) throw new UserError(`--name: letters, digits and . _ @ - only (at most 64), found '${name}'`);
  for (const dir of values.data ?? []) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`--data: ${dir} is not a folder on this machine`);
  }
  const gpuPlan = await planGpus([backend ?? 'auto'], '--backend', values.gpus);
  // As for a sweep: no more workers than the memory and the address space hold.
  const fuse = fuseOption(values.fuse) ?? defaultFuse([backend ?? 'auto']);
  const fit = fitAgentToMachine({ requested, backend: backend ?? 'auto', adapters: Math.max(1, gpuPlan.gpus.length), fuse });
  const { workers } = fit;

  // Redis answers, and takes the password, before anything else.
  await checkConnection(url);
  const version = packageVersion();
  const agent = new Agent({
    url,
    name,
    workers,
    fuse,
    version,
    backend,
    ...gpuPlan,
    lockMs: lockSeconds * 1000,
    dataDirs: values.data ?? [],
    log: (line) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`),
  });
  await agent.start();
  for (const note of fit.notes) console.log(note);
  const fused = fuse > 1 ? `, up to ${fuse} trials trained as one on each` : '';
  console.log(`agent ${name}: lenet-sweep ${version}, ${workers} worker${workers === 1 ? '' : 's'}${fused} (backend ${backend ?? `auto → ${plannedBackend('auto')}`}), taking trials from ${url.shown} (Ctrl-C to stop)`);

  let stops = 0;
  let firstSignal: StopSignal | undefined;
  const onSignal = (signal: StopSignal) => {
    stops++;
    firstSignal ??= signal;
    if (stops === 1) {
      console.log(`\nstopping (${signal}): no new trials; the running ones finish (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to end them after their batch)`);
      void agent.close(false).then(() => finish(undefined));
    } else {
      console.log(`ending the running trials after their batch (${signal} again): they go back to the queue, and other agents resume them from their checkpoints`);
      void agent.close(true).then(() => finish(undefined));
    }
  };
  let finish!: (error: Error | undefined) => void;
  const finished = new Promise<Error | undefined>((resolve) => (finish = resolve));
  void agent.finished.then(async (error) => {
    await agent.close(true);
    finish(error);
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const error = await finished;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (error) throw error;
  return firstSignal ? STOP_SIGNALS[firstSignal] : 0;
}
