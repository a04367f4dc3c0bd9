/**
 * The early-termination rule's answers as they reach a trial's training: the runner answers each
 * epoch a worker reports (but the last) with a verdict, and training waits for it before the next
 * epoch. Waiting keeps the decisions deterministic: a trial never trains past the epoch it was
 * judged on, however busy the main thread is.
 */
import type { Verdict } from './messages.js';

export class VerdictInbox {
  private readonly arrived = new Map<number, string | null>();
  private readonly waiting = new Map<number, (reason: string | null) => void>();

  /** A verdict from the runner (over a port or IPC). */
  receive(verdict: Verdict): void {
    const resolve = this.waiting.get(verdict.epoch);
    if (resolve) {
      this.waiting.delete(verdict.epoch);
      resolve(verdict.reason);
    } else {
      this.arrived.set(verdict.epoch, verdict.reason);
    }
  }

  /** The verdict on `epoch`: null to go on, or why the trial stops. */
  await(epoch: number): Promise<string | null> {
    if (this.arrived.has(epoch)) {
      const reason = this.arrived.get(epoch)!;
      this.arrived.delete(epoch);
      return Promise.resolve(reason);
    }
    return new Promise((resolve) => this.waiting.set(epoch, resolve));
  }
}
