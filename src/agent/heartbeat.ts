/**
 * An agent's heartbeat: what it says of itself (AgentInfo) under its name, with a time to live,
 * written every HEARTBEAT_MS. Coordinators count the live agents and their workers by these keys;
 * the dashboard shows their images/s. A name is one live agent's: another agent of that name is
 * refused, unless the one holding it died on this machine (claim, below).
 */
import type { Redis } from 'ioredis';
import { HEARTBEAT_MS, HEARTBEAT_TTL_MS, keys, type AgentInfo } from '../queue/protocol.js';
import { processState } from '../store/queries.js';

/** Sets the heartbeat key to ARGV[2] only if it still holds ARGV[1] (the dead agent's last heartbeat). */
const TAKE_OVER_NAME = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return false`;

export class Heartbeat {
  private readonly key: string;
  /** The heartbeat key under this agent's name is this agent's (not another's of the same name). */
  private claimed = false;
  private timer: NodeJS.Timeout | undefined;

  /** `info`: what the agent says of itself now. */
  constructor(
    private readonly redis: Redis,
    name: string,
    private readonly info: () => AgentInfo,
  ) {
    this.key = keys.agent(name);
  }

  /** Takes the name: null once it is this agent's, else what the agent holding it says of itself. */
  async claim(): Promise<Partial<AgentInfo> | null> {
    let claimed = (await this.redis.set(this.key, JSON.stringify(this.info()), 'PX', HEARTBEAT_TTL_MS, 'NX')) !== null;
    const held = claimed ? null : await this.redis.get(this.key);
    const other = JSON.parse(held ?? '{}') as Partial<AgentInfo>;
    // An agent of this name that died on this machine (its pid gone): its name is taken over at
    // once, not after its heartbeat lapses (an agent restarted by systemd after a crash).
    if (!claimed && held && other.host && typeof other.pid === 'number' && processState({ host: other.host, pid: other.pid, updated_at: null }) === 'gone') {
      claimed = (await this.redis.eval(TAKE_OVER_NAME, 1, this.key, held, JSON.stringify(this.info()), HEARTBEAT_TTL_MS)) !== null;
    }
    this.claimed = claimed;
    return claimed ? null : other;
  }

  /** Beats now, and every HEARTBEAT_MS until stopped. */
  start(): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), HEARTBEAT_MS);
  }

  private beat(): void {
    this.redis.set(this.key, JSON.stringify(this.info()), 'PX', HEARTBEAT_TTL_MS).catch(() => {});
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The name is free again, where it was this agent's. */
  async release(): Promise<void> {
    if (this.claimed) await this.redis.del(this.key).catch(() => {});
  }
}
