/**
 * The coordinator's reader of a sweep's events stream (agents → coordinator), through its
 * consumer group. Entries are acknowledged (and deleted) only once the runner has stored them, so
 * a coordinator that dies mid-way reads the rest again when it restarts: each read first takes
 * what the group had been given and not acknowledged (what an earlier coordinator left, and
 * entries kept for adoption), then new entries. It tells how far it has read: `caughtUp` settles
 * once what earlier coordinators left is read, `readToEnd()` once the stream as it is now is.
 */
import type { Redis } from 'ioredis';
import { debug } from './debug.js';
import { GROUP, keys, parseEntry, type StreamEntry } from './protocol.js';

/** How long one read of the events stream blocks. */
const READ_BLOCK_MS = 1000;
/** Entries read at once. */
const READ_COUNT = 200;

/** A stream entry not yet taken, with its id. */
export interface Pending {
  id: string;
  entry: StreamEntry;
}

export class EventsReader {
  private readonly stream: string;
  private closed = false;
  /** The last stream entry the reader has taken (or kept for adoption). */
  private readTo = '0-0';
  /** Reads of the stream begun so far: an empty read tells those waiting since before it began that all is read. */
  private reads = 0;
  /** Who waits for the reader to be past an entry (`read`: how many reads had begun when they began waiting). */
  private passWaiters: { after: string; read: number; resolve: () => void }[] = [];
  /** Settles once the reader has read the stream to its end (what earlier coordinators left included). */
  readonly caughtUp: Promise<void>;
  private markCaughtUp!: () => void;
  /** The stream's last entry when this coordinator began (null: it was empty). */
  private leftUntil: string | null = null;

  /** `redis` acknowledges and looks at the stream's end; `reader` is the reads' own connection (they block). */
  constructor(
    private readonly redis: Redis,
    private readonly reader: Redis,
    sweep: string,
  ) {
    this.stream = keys.events(sweep);
    this.caughtUp = new Promise((resolve) => (this.markCaughtUp = resolve));
  }

  /** Makes the consumer group (where there is none yet), and notes where the stream ends now. */
  async begin(): Promise<void> {
    await this.createGroup();
    // The stream's end now: once the reader is past it, every entry an earlier coordinator left is read.
    const latest = await this.redis.xrevrange(this.stream, '+', '-', 'COUNT', 1);
    this.leftUntil = latest[0]?.[0] ?? null;
    if (this.leftUntil === null) this.markCaughtUp();
  }

  private async createGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.stream, GROUP, '$', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  /**
   * Reads the events stream until closed: first what an earlier coordinator left unacknowledged,
   * then new entries, each handed to `take` in stream order (the next once it settles). `take`
   * acknowledges the entry once stored (ack), or leaves it unacknowledged to keep it.
   */
  async read(take: (pending: Pending) => Promise<void>): Promise<void> {
    let from = '0-0';
    while (!this.closed) {
      let reply: [string, [string, string[]][]][] | null;
      const read = ++this.reads;
      try {
        reply = (await this.reader.xreadgroup('GROUP', GROUP, 'coordinator', 'COUNT', READ_COUNT, 'BLOCK', READ_BLOCK_MS, 'STREAMS', this.stream, from)) as typeof reply;
      } catch (err) {
        if (this.closed) return;
        // The group is gone (Redis restarted without its data): made again.
        if (/NOGROUP/.test((err as Error).message)) await this.createGroup().catch(() => {});
        else await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const entries = reply?.[0]?.[1] ?? [];
      // Caught up: every entry there was when the read began is taken.
      if (entries.length === 0 && from === '>') {
        this.markCaughtUp();
        this.passedAll(read);
      }
      // What this group had been given and not acknowledged, read on past each batch (entries
      // kept for adoption stay unacknowledged); then new entries.
      if (from !== '>') from = entries.length ? entries[entries.length - 1][0] : '>';
      for (const [id, fields] of entries) {
        if (this.closed) return;
        const entry = parseEntry(fields);
        if (!entry) {
          debug('passed over an entry that is not an event');
          await this.ack(id);
          this.passed(id);
          continue;
        }
        if (this.leftUntil !== null && compareIds(id, this.leftUntil) >= 0) this.markCaughtUp();
        await take({ id, entry });
        this.passed(id);
      }
    }
  }

  /** The entry is done with: acknowledged, and deleted from the stream. */
  async ack(id: string): Promise<void> {
    await this.redis.multi().xack(this.stream, GROUP, id).xdel(this.stream, id).exec();
  }

  /** Settles once the reader has taken every entry the stream holds now. */
  async readToEnd(): Promise<void> {
    const read = this.reads;
    const latest = await this.redis.xrevrange(this.stream, '+', '-', 'COUNT', 1);
    const after = latest[0]?.[0];
    if (!after || this.closed || compareIds(this.readTo, after) >= 0) return;
    return new Promise((resolve) => this.passWaiters.push({ after, read, resolve }));
  }

  /** The reader has taken the entry `id`. */
  private passed(id: string): void {
    this.readTo = id;
    this.settlePassWaiters((w) => compareIds(id, w.after) >= 0);
  }

  /** The read begun as `read` found nothing new: whoever waited from before it began has all. (All, once closed.) */
  private passedAll(read = Number.MAX_SAFE_INTEGER): void {
    this.settlePassWaiters((w) => w.read < read);
  }

  private settlePassWaiters(done: (w: { after: string; read: number }) => boolean): void {
    const due = this.passWaiters.filter(done);
    if (!due.length) return;
    this.passWaiters = this.passWaiters.filter((w) => !due.includes(w));
    for (const w of due) w.resolve();
  }

  /** Reads no more; whoever waits for the reader to be past an entry is let go. */
  close(): void {
    this.closed = true;
    this.passedAll();
  }
}

/** Orders two stream ids ("ms-seq"). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am - bm || as - bs;
}
