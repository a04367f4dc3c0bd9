/**
 * The coordinator's verdicts on a judged trial's attempt (the sweep's early-termination rule),
 * waited for by the agent training it: they come on a list of their own (keys.verdicts), read
 * with a blocking pop on a connection of its own until the attempt ends.
 */
import { connect } from '../queue/redis.js';
import { keys, type QueueJob } from '../queue/protocol.js';
import type { QueueUrl } from '../queue/url.js';
import type { Verdict } from '../worker/messages.js';

/** How long one wait for a verdict blocks before the trial's state is looked at again. */
const VERDICT_BLOCK_S = 1;

/** Hands each verdict on the attempt to `deliver` until closed. */
export function waitForVerdicts(url: QueueUrl, job: QueueJob, attempt: number, deliver: (v: Verdict) => void): { close(): void } {
  const redis = connect(url, 'lenet-sweep-agent-verdicts');
  let open = true;
  const key = keys.verdicts(job.sweep, job.trialId, attempt);
  void (async () => {
    while (open) {
      const got = await redis.blpop(key, VERDICT_BLOCK_S).catch(() => null);
      if (!got || !open) continue;
      try {
        const verdict = JSON.parse(got[1]) as Verdict;
        if (verdict.type === 'verdict' && Number.isInteger(verdict.epoch)) deliver(verdict);
      } catch {
        // Not a verdict: ignored.
      }
    }
    redis.disconnect();
  })();
  return { close: () => (open = false) };
}
