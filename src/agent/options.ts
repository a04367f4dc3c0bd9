/** What an agent is started with (`sweep agent`'s options, cli/agent-command.ts). */
import type { BackendChoice } from '../backend/choice.js';
import type { QueueUrl } from '../queue/url.js';

export interface AgentOptions {
  url: QueueUrl;
  name: string;
  workers: number;
  /** The most trials each worker trains as one computation (--fuse; agent/groups.ts). */
  fuse: number;
  version: string;
  /** Trains every trial on this backend instead of its config's (--backend). */
  backend?: BackendChoice;
  gpu: boolean;
  gpus: string[];
  gpuApi?: string;
  /** How long a taken trial's lock lasts without renewal: a lost agent's trials go to others after it. */
  lockMs: number;
  /** Folders a job's data.dir may be in (--data); Debian's datasets and the cache are always allowed. */
  dataDirs: string[];
  /** One line per happening, for the agent's output. */
  log: (line: string) => void;
}
