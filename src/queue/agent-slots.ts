/**
 * How many trials a coordinator has out at once: only as many as the live agents have workers,
 * plus a small buffer, so an adaptive search keeps choosing with the latest results. The live
 * agents are counted from their heartbeats (protocol.ts's liveAgents) every second, and their
 * coming and going is said.
 */
import type { Redis } from 'ioredis';
import { liveAgents, type AgentInfo } from './protocol.js';

/** Trials waiting in the queue beyond what the agents' workers can take at once. */
export const QUEUE_BUFFER = 2;
/** How often the live agents are counted. */
const AGENTS_POLL_MS = 1000;

export class AgentSlots {
  private agents = new Map<string, AgentInfo>();
  private capacity = 0;
  private inUse = 0;
  private readonly waiters: ((counted: boolean) => void)[] = [];
  private closed = false;
  private stopping = false;
  private readonly timer: NodeJS.Timeout;

  /** `shownUrl`: the queue's URL as it may be shown, for the line that says how to start an agent. */
  constructor(
    private readonly redis: Redis,
    private readonly version: string,
    private readonly shownUrl: string,
    private readonly log: (line: string) => void,
  ) {
    this.timer = setInterval(() => void this.count(), AGENTS_POLL_MS);
  }

  /** Counts the agents a first time, and says how to start one while there is none. */
  async begin(): Promise<void> {
    await this.count();
    if (!this.agents.size) this.log(`waiting for agents: start one with sweep agent --queue ${this.shownUrl}`);
  }

  private async count(): Promise<void> {
    if (this.closed) return;
    let found: Map<string, AgentInfo>;
    try {
      found = new Map((await liveAgents(this.redis, this.version)).map((a) => [a.name, a]));
    } catch {
      return; // Redis away: keep the last count.
    }
    for (const name of found.keys()) if (!this.agents.has(name)) this.log(`agent ${name} joined (${agentText(found.get(name)!)})`);
    for (const name of this.agents.keys()) if (!found.has(name)) this.log(`agent ${name} is gone (no heartbeat): its trials go to other agents once their locks expire`);
    const hadNone = this.agents.size === 0;
    this.agents = found;
    if (!found.size && !hadNone) this.log(`no agent left: start one with sweep agent --queue ${this.shownUrl}`);
    // An agent that fuses trains `fuse` trials on each worker at once.
    const workers = [...found.values()].reduce((sum, a) => sum + a.workers * (a.fuse ?? 1), 0);
    this.capacity = workers ? workers + QUEUE_BUFFER : 0;
    this.pump();
  }

  private pump(): void {
    while (this.waiters.length && (this.closed || this.stopping || this.inUse < this.capacity)) {
      const counted = !this.closed && !this.stopping;
      if (counted) this.inUse++;
      this.waiters.shift()!(counted);
    }
  }

  /** Waits for a free slot; the returned function gives it back. */
  reserve(): Promise<() => void> {
    return new Promise((resolve) => {
      // `counted`: the slot was taken from the agents' capacity (not handed out to end a loop).
      this.waiters.push((counted) => {
        let released = !counted;
        resolve(() => {
          if (released) return;
          released = true;
          this.inUse--;
          this.pump();
        });
      });
      this.pump();
    });
  }

  /** The sweep stops: search loops waiting for a slot (no agent has a free worker) end now. */
  stop(): void {
    this.stopping = true;
    this.pump();
  }

  /** The agents are counted no more, and every loop waiting for a slot ends. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.pump();
  }
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** An agent as the coordinator's log names it: its workers, how many trials each trains as one, its host. */
function agentText(agent: AgentInfo): string {
  const fused = (agent.fuse ?? 1) > 1 ? `, up to ${agent.fuse} trials trained as one on each` : '';
  return `${plural(agent.workers, 'worker')} on ${agent.host}${fused}`;
}
