/**
 * What a job may make an agent do is bounded: its config must validate against the schema and
 * hash to its trial id (else no agent trains it), and its data is found in the agent's own
 * folders (a job naming another path is not trained there: it goes to another agent). That it
 * comes from a coordinator of this version is checked first, where the job is taken (agent.ts).
 */
import { dirname, isAbsolute, relative } from 'node:path';
import { realpathSync } from 'node:fs';
import { configProblems } from '../config/load.js';
import type { Experiment } from '../config/experiment.types.js';
import { DEBIAN_FASHION_MNIST } from '../data/sources.js';
import type { QueueJob } from '../queue/protocol.js';
import { trialId } from '../sweep/trial-id.js';

/** Why a job is not trained by any agent; null when it may be. */
export function jobProblem(job: QueueJob): string | null {
  const problems = configProblems(job.config);
  if (problems.length) return `its config does not validate: ${problems[0]}`;
  if (trialId(job.config) !== job.trialId) return 'its config does not hash to its trial id';
  return null;
}

/** A data.dir (or a CSV dataset's data.train, data.test) outside the agent's folders (`dataDirs`, and Debian's datasets) is never read. */
export function dataProblem(config: Experiment, dataDirs: string[]): string | null {
  const allowed = [...dataDirs, DEBIAN_FASHION_MNIST];
  for (const key of ['dir', 'train', 'test'] as const) {
    const path = config.data[key];
    // A folder dataset's data.test is a fraction, not a path.
    if (typeof path !== 'string') continue;
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      return `data.${key} ${path} does not exist on this agent`;
    }
    const inside = allowed.some((a) => {
      try {
        const rel = relative(realpathSync(a), real);
        return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
      } catch {
        return false;
      }
    });
    if (!inside) return `data.${key} ${path} is not in this agent's data folders; start the agent with --data ${key === 'dir' ? path : dirname(path)} (or a folder above it)`;
  }
  return null;
}
