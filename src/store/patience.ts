/**
 * Waiting out another program's lock on the database. A sweep's writes wait BUSY_TIMEOUT_MS
 * inside SQLite (blocking the main thread), then here, between attempts, with the event loop
 * free (signals, the dashboard, the workers' events all go on) for up to PATIENCE_MS. Then the
 * error names the file and, where Linux tells (/proc/locks), the program holding the lock and
 * which lock it holds.
 */
import { readFileSync, statSync } from 'node:fs';

/** How long a sweep waits in all for a lock held by another program before it gives up. */
export const PATIENCE_MS = 120_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A wait for a lock given up on request (a stop signal): not a failure of the run. */
export class GaveUp extends Error {
  override readonly name = 'GaveUp';
}

export interface Patience {
  /** Told once, with who holds the lock, when the first attempt fails. */
  onWait: (holder: string) => void;
  /** Asked between attempts: true gives up at once (a second Ctrl-C). */
  giveUp?: () => boolean;
  patienceMs?: number;
}

/** Whether an error is another connection's lock (SQLITE_BUSY, SQLITE_LOCKED). */
export const isBusy = (err: unknown) => /^SQLITE_(BUSY|LOCKED)/.test((err as { code?: string }).code ?? '');

/** Runs a write, again and again while the database is locked by another connection, for up to the patience. */
export async function patiently<T>(path: string, write: () => T, { onWait, giveUp = () => false, patienceMs = PATIENCE_MS }: Patience): Promise<T> {
  const start = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return write();
    } catch (err) {
      if (!isBusy(err)) throw err;
      if (giveUp()) throw new GaveUp(`${path} is locked by ${lockHolder(path)}; stopped without waiting for it, so what this run did last is not recorded (the next run of the sweep takes it over)`);
      if (Date.now() - start >= patienceMs) {
        throw new Error(`${path}: database is locked: ${lockHolder(path)} has held it for over ${Math.round(patienceMs / 1000)} s; stop that program and run the sweep again (what is stored so far is kept)`);
      }
      if (attempt === 0) onWait(lockHolder(path));
      await sleep(Math.min(1000, 50 * 2 ** attempt));
    }
  }
}

/** Where in the -shm file SQLite's WAL locks are (WAL_WRITE_LOCK, WAL_CKPT_LOCK, WAL_RECOVER_LOCK). */
const SHM_LOCKS: Record<number, string> = { 120: 'the write lock (an open write transaction)', 121: 'the checkpoint lock', 122: 'the recovery lock' };

/** Byte 0x40000000 and on in the database file: SQLite's PENDING, RESERVED and SHARED locks. */
const PENDING_BYTE = 0x40000000;

/** Which lock a byte range starts at, ranked by how likely it is what keeps a writer out (0 first). */
function lockAt(kind: 'db' | 'shm', start: number): { rank: number; lock: string } | undefined {
  if (kind === 'shm') return SHM_LOCKS[start] === undefined ? undefined : { rank: start - 120, lock: SHM_LOCKS[start] };
  if (start === PENDING_BYTE || start === PENDING_BYTE + 1) return { rank: 3, lock: 'a write lock on the file (a writer not in WAL mode)' };
  if (start >= PENDING_BYTE + 2) return { rank: 4, lock: 'a shared lock' };
  return undefined;
}

/** The lock held by another process that most likely keeps a writer out, from the text of /proc/locks. */
export function strongestLock(procLocks: string, files: ReadonlyMap<number, 'db' | 'shm'>, self: number): { pid: number; lock: string } | undefined {
  // "1: POSIX  ADVISORY  WRITE 1234 08:02:131073 120 120". Every connection in WAL mode holds a
  // shared lock on the database file as long as it is open, and /proc/locks lists locks in no
  // particular order, so the lock that blocks us (the -shm write lock) is looked for among all,
  // not taken from the first line that names the file.
  let best: { rank: number; pid: number; lock: string } | undefined;
  for (const line of procLocks.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[1] === '->') continue;
    const pid = Number(f[4]);
    const kind = files.get(Number(f[5].split(':')[2]));
    if (!kind || pid === self || pid <= 0) continue;
    const found = lockAt(kind, Number(f[6]));
    if (found && (!best || found.rank < best.rank)) best = { ...found, pid };
  }
  return best && { pid: best.pid, lock: best.lock };
}

/** Who holds a lock on the database or its -shm file, from /proc/locks: "another program (pid 123, sqlite3), holding the write lock …". */
export function lockHolder(path: string): string {
  try {
    const files = new Map<number, 'db' | 'shm'>();
    for (const [file, kind] of [[path, 'db'], [`${path}-shm`, 'shm']] as const) {
      try {
        files.set(statSync(file).ino, kind);
      } catch {
        // No -shm: a database not in WAL mode.
      }
    }
    const held = strongestLock(readFileSync('/proc/locks', 'utf8'), files, process.pid);
    if (held) {
      let command = '?';
      try {
        command = readFileSync(`/proc/${held.pid}/comm`, 'utf8').trim();
      } catch {
        // Gone, or another user's.
      }
      return `another program (pid ${held.pid}, ${command}) holding ${held.lock}`;
    }
  } catch {
    // Not Linux.
  }
  return 'another connection';
}
