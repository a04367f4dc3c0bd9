/**
 * Linux network namespaces for end-to-end tests: each "agent" runs in a namespace of its own, joined to
 * this (the host) namespace by a veth pair, so a test can cut one agent off the network and bring it back.
 *
 * Layout for `createNamespace(index)` in the test process with pid P (index 0–255):
 *
 *   namespace       lsw-P-INDEX
 *   host end        lswh<P % 10000>x<INDEX>   address 10.O.INDEX.1/30   (≤ 15 characters, the kernel's limit)
 *   namespace end   lswn<P % 10000>x<INDEX>   address 10.O.INDEX.2/30, plus `lo` up
 *
 * where the second octet O is 200 + P % 50, or the next one (mod 50, within 200–249) whose /30 overlaps no
 * IPv4 route or address already on the host, so parallel test files (one process each) get disjoint subnets.
 * There is no bridge, no NAT and no default route: a namespace reaches only the host's end of its own veth,
 * so servers an agent must reach (Redis, the coordinator) have to listen on `hostAddress` or 0.0.0.0, not
 * 127.0.0.1 — `localhost` inside a namespace is the namespace's own loopback.
 *
 * `linkDown()` takes the host end down: the namespace end loses carrier and drops what the namespace sends,
 * and a blackhole route kept below the veth's own route (metric 4242, proto 231) drops what the host sends
 * to the namespace instead of letting it follow the default route out of the machine. Nothing is refused:
 * a connect() from the namespace fails with EHOSTUNREACH after ~3 s, when ARP gives up (3 probes 1 s
 * apart), or hits its own timeout first. `linkUp()` brings the link back, waits until both ends are
 * operationally up (~20 ms) and refreshes both ends' ARP entries for each other; a new connection then
 * works at once.
 *
 * TCP connections open across a cut are neither reset nor closed, and what was written during it is
 * delivered after linkUp — but only when the sender's retransmission timer next fires, and that timer
 * backs off exponentially (200 ms, doubling). After a cut of T seconds a side with unacknowledged data can
 * stay silent for up to ~T more; nothing behind that data flows meanwhile. Observed with ioredis over a
 * 30 s cut: no error, close or reconnect; a connection that only sent during the cut (PINGs) answered
 * 0.1 s after linkUp, but a connection whose reply was due during the cut (BLPOP q 2 — think BullMQ's
 * blocking BZPOPMIN) got it 25 s after linkUp. A process in the namespace that does nothing during the
 * cut sees nothing at all.
 *
 * Cleanup: `remove()` / `removeAll()` kill whatever still runs in the namespace, delete the veth pair (both
 * ends go together), the blackhole route and the namespace. Anything still owned at process exit — normal
 * exit, an uncaught exception, SIGINT, SIGTERM or SIGHUP — is removed synchronously then. What a SIGKILLed
 * test process leaves behind (namespaces named lsw-PID-*, veths whose alias is lsw-PID-*, blackhole routes
 * with proto 231 whose /30 no host address is in any more) is swept by the next `available()` in any
 * process, once PID is no longer running.
 *
 * Needs root, iproute2 (`ip`, with JSON output: iproute2 ≥ 4.13) and one process per test file (vitest's
 * default "forks" pool): names are keyed by pid, so worker threads of one process would clash.
 */
import { execFile, execFileSync, spawn as spawnChild, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { isMainThread } from 'node:worker_threads';

const execFileAsync = promisify(execFile);

export interface Namespace {
  /** The namespace's name, for `ip netns exec` / `ip -n`. */
  readonly name: string;
  readonly index: number;
  /** The veth end in the host namespace (the one linkDown takes down). */
  readonly hostInterface: string;
  /** The veth end inside the namespace. */
  readonly nsInterface: string;
  /** The host's address on this pair: what processes in the namespace connect to. */
  readonly hostAddress: string;
  /** The namespace's own address. */
  readonly nsAddress: string;
  /**
   * Runs `ip netns exec NAME cmd args…` with the given options (env, stdio, …) and returns the child,
   * which is cmd itself (ip execs it in place, so signals reach it directly). ip looks cmd up on the PATH
   * of options.env, so pass an absolute path (process.execPath for node) when env has no PATH.
   */
  spawn(cmd: string, args?: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Cuts the namespace off: takes the host end of the veth down. */
  linkDown(): Promise<void>;
  /** Reconnects it: brings the host end up and waits until both ends are operationally up. */
  linkUp(): Promise<void>;
  /** Kills what still runs in the namespace and deletes the namespace, its veth pair and its route. */
  remove(): Promise<void>;
}

/** What a process creates, kept on globalThis so every copy of this module in the process shares it. */
interface Owned {
  readonly name: string;
  readonly hostInterface: string;
  readonly prefix: string;
  readonly children: Set<ChildProcess>;
}
interface Registry {
  owned: Map<string, Owned>;
  hooked: boolean;
}
const registry: Registry = ((globalThis as Record<symbol, unknown>)[Symbol.for('lenet-sweep/test/netns')] ??= {
  owned: new Map(),
  hooked: false,
}) as Registry;

const ROUTE_METRIC = '4242';
const ROUTE_PROTO = '231';
const OCTET_BASE = 200;
const OCTET_SPAN = 50;
const NAME_PATTERN = /^lsw-(\d+)-/;

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((path) => existsSync(path)) ?? null;

function ipPath(): string {
  if (!IP) throw new Error('the ip command (iproute2) was not found');
  return IP;
}

function failure(args: readonly string[], err: unknown): Error {
  const e = err as { stderr?: string | Buffer; message?: string };
  const detail = String(e.stderr ?? '').trim() || e.message || String(err);
  return new Error(`ip ${args.join(' ')}: ${detail}`);
}

async function ip(args: readonly string[]): Promise<string> {
  try {
    return (await execFileAsync(ipPath(), args, { encoding: 'utf8' })).stdout;
  } catch (err) {
    throw failure(args, err);
  }
}

/** Runs ip and reports whether it succeeded, for deletions of what may already be gone. */
async function ipQuiet(args: readonly string[]): Promise<boolean> {
  return ip(args).then(
    () => true,
    () => false,
  );
}

function ipSync(args: readonly string[]): string {
  return execFileSync(ipPath(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function ipSyncQuiet(args: readonly string[]): string {
  try {
    return ipSync(args);
  } catch {
    return '';
  }
}

function json<T>(text: string): T[] {
  return text.trim() ? (JSON.parse(text) as T[]) : [];
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function shortPid(): number {
  return process.pid % 10000;
}

// ---------------------------------------------------------------------------------------------------------
// Availability

let availability: Promise<string | null> | undefined;

/** null when namespaces can be made here; otherwise why not, in one line. Cached per process. */
export function available(): Promise<string | null> {
  return (availability ??= probe());
}

async function probe(): Promise<string | null> {
  if (process.platform !== 'linux') return `network namespaces need Linux, this is ${process.platform}`;
  if (!isMainThread) {
    return 'test/netns.ts keys names by pid and needs a process per test file (vitest pool "forks"), not worker threads';
  }
  const uid = process.getuid?.();
  if (uid !== 0) return `network namespaces need root, this runs as uid ${uid}`;
  if (!IP) return 'the ip command (iproute2) was not found in /usr/sbin, /sbin, /usr/bin or /bin';
  try {
    await sweepStale();
  } catch (err) {
    return `ip cannot list namespaces, links or routes: ${firstLine(err)}`;
  }
  const name = `lsw-${process.pid}-probe`;
  await ipQuiet(['netns', 'del', name]);
  try {
    await ip(['netns', 'add', name]);
  } catch (err) {
    return `ip netns add does not work here: ${firstLine(err)}`;
  }
  try {
    // Both ends inside the throwaway namespace, so deleting it deletes them.
    await ip(['-n', name, 'link', 'add', `lswh${shortPid()}xp`, 'type', 'veth', 'peer', 'name', `lswn${shortPid()}xp`]);
  } catch (err) {
    return `veth pairs cannot be made here: ${firstLine(err)}`;
  } finally {
    await ipQuiet(['netns', 'del', name]);
  }
  return null;
}

/** Removes what test processes that are no longer running left behind (SIGKILL gives no chance to clean). */
async function sweepStale(): Promise<void> {
  const dead = (name: string | undefined): boolean => {
    const pid = Number(NAME_PATTERN.exec(name ?? '')?.[1] ?? NaN);
    return Number.isInteger(pid) && pid !== process.pid && !running(pid);
  };
  for (const { name } of json<{ name: string }>(await ip(['-j', 'netns', 'list']))) {
    if (!dead(name)) continue;
    await killInside(name);
    await ipQuiet(['netns', 'del', name]);
  }
  for (const { ifname, ifalias } of json<{ ifname: string; ifalias?: string }>(await ip(['-j', 'link', 'show', 'type', 'veth']))) {
    if (dead(ifalias)) await ipQuiet(['link', 'del', 'dev', ifname]);
  }
  const routes = json<{ dst: string }>(await ip(['-j', '-4', 'route', 'show', 'type', 'blackhole', 'proto', ROUTE_PROTO]));
  for (const { dst } of routes) {
    // A live namespace's host end keeps its address (IPv4 addresses stay on a link that is down).
    const links = json<{ addr_info?: unknown[] }>(await ip(['-j', '-4', 'addr', 'show', 'to', dst]));
    if (links.some((link) => (link.addr_info?.length ?? 0) > 0)) continue;
    await ipQuiet(['route', 'del', 'blackhole', dst, 'metric', ROUTE_METRIC, 'proto', ROUTE_PROTO]);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Addresses

function toInt(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** [first, last] address of a CIDR (a bare address is a /32). */
function range(cidr: string): [number, number] {
  const [address, bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(toInt(address) / size) * size;
  return [start, start + size - 1];
}

/** The first second octet, from 200 + pid % 50 on, whose 10.O.INDEX.0/30 overlaps nothing on the host. */
async function secondOctet(index: number): Promise<number> {
  const taken: Array<[number, number]> = [];
  for (const { dst } of json<{ dst: string }>(await ip(['-j', '-4', 'route', 'show', 'table', 'all']))) {
    if (/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dst) && !dst.endsWith('/0')) taken.push(range(dst));
  }
  for (const link of json<{ addr_info?: Array<{ local: string; prefixlen: number }> }>(await ip(['-j', '-4', 'addr', 'show']))) {
    for (const { local, prefixlen } of link.addr_info ?? []) taken.push(range(`${local}/${prefixlen}`));
  }
  for (let k = 0; k < OCTET_SPAN; k++) {
    const octet = OCTET_BASE + ((process.pid + k) % OCTET_SPAN);
    const [start, end] = range(`10.${octet}.${index}.0/30`);
    if (!taken.some(([s, e]) => s <= end && start <= e)) return octet;
  }
  throw new Error(`no free /30 for index ${index} in 10.${OCTET_BASE}–${OCTET_BASE + OCTET_SPAN - 1}.${index}.0`);
}

// ---------------------------------------------------------------------------------------------------------
// Namespaces

/** Creates namespace lsw-PID-INDEX joined to the host by its own veth pair (see the top of this file). */
export async function createNamespace(index: number): Promise<Namespace> {
  if (!Number.isInteger(index) || index < 0 || index > 255) throw new Error(`namespace index must be 0–255, got ${index}`);
  const reason = await available();
  if (reason !== null) throw new Error(`network namespaces are not available: ${reason}`);

  const name = `lsw-${process.pid}-${index}`;
  if (registry.owned.has(name)) throw new Error(`namespace ${name} already exists: index ${index} used twice in this process`);
  const hostInterface = `lswh${shortPid()}x${index}`;
  const nsInterface = `lswn${shortPid()}x${index}`;
  // Not ours in this process's registry, so a leftover under a reused pid (or from a module copy gone without cleanup).
  await destroyQuiet(name, hostInterface);

  const octet = await secondOctet(index);
  const hostAddress = `10.${octet}.${index}.1`;
  const nsAddress = `10.${octet}.${index}.2`;
  const prefix = `10.${octet}.${index}.0/30`;
  const owned: Owned = { name, hostInterface, prefix, children: new Set() };
  registry.owned.set(name, owned);
  installExitCleanup();

  try {
    await ip(['netns', 'add', name]);
    await ip(['link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', nsInterface, 'netns', name]);
    await ip(['link', 'set', 'dev', hostInterface, 'alias', name]);
    await ip(['addr', 'add', `${hostAddress}/30`, 'dev', hostInterface]);
    await ip(['-n', name, 'addr', 'add', `${nsAddress}/30`, 'dev', nsInterface]);
    await ip(['-n', name, 'link', 'set', 'dev', 'lo', 'up']);
    await ip(['-n', name, 'link', 'set', 'dev', nsInterface, 'up']);
    await ip(['link', 'set', 'dev', hostInterface, 'up']);
    // After the address, so a sweep never sees this route without an address in its /30.
    await ip(['route', 'add', 'blackhole', prefix, 'metric', ROUTE_METRIC, 'proto', ROUTE_PROTO]);
    await waitUp(owned, nsInterface);
  } catch (err) {
    await destroy(owned);
    throw err;
  }

  return {
    name,
    index,
    hostInterface,
    nsInterface,
    hostAddress,
    nsAddress,
    spawn(cmd, args = [], options = {}) {
      if (!registry.owned.has(name)) throw new Error(`namespace ${name} has been removed`);
      const child = spawnChild(ipPath(), ['netns', 'exec', name, cmd, ...args], options);
      owned.children.add(child);
      child.once('exit', () => owned.children.delete(child));
      child.once('error', () => owned.children.delete(child));
      return child;
    },
    async linkDown() {
      await ip(['link', 'set', 'dev', hostInterface, 'down']);
    },
    async linkUp() {
      await ip(['link', 'set', 'dev', hostInterface, 'up']);
      const { hostMac, nsMac } = await waitUp(owned, nsInterface);
      // ARP that began during the cut is still running and would fail up to ~3 s into the restored link
      // (EHOSTUNREACH for a connect, dropping what it held). Tell both ends each other's address now: that
      // also sends what waited for it at once. The entries then age like learned ones.
      await ip(['-n', name, 'neigh', 'replace', hostAddress, 'lladdr', hostMac, 'dev', nsInterface, 'nud', 'reachable']);
      await ip(['neigh', 'replace', nsAddress, 'lladdr', nsMac, 'dev', hostInterface, 'nud', 'reachable']);
    },
    async remove() {
      await destroy(owned);
    },
  };
}

/** Removes every namespace this process created and still owns. */
export async function removeAll(): Promise<void> {
  await Promise.all([...registry.owned.values()].map((owned) => destroy(owned)));
}

/**
 * Waits until both veth ends report operstate UP (carrier on the namespace end follows within milliseconds)
 * and returns their MAC addresses.
 */
async function waitUp(owned: Owned, nsInterface: string, timeoutMs = 5000): Promise<{ hostMac: string; nsMac: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    type Link = { operstate?: string; address: string };
    const [host] = json<Link>(await ip(['-j', 'link', 'show', 'dev', owned.hostInterface]));
    const [inside] = json<Link>(await ip(['-j', '-n', owned.name, 'link', 'show', 'dev', nsInterface]));
    if (host?.operstate === 'UP' && inside?.operstate === 'UP') return { hostMac: host.address, nsMac: inside.address };
    if (Date.now() > deadline) {
      throw new Error(`${owned.hostInterface}/${nsInterface} not up after ${timeoutMs} ms (${host?.operstate}/${inside?.operstate})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** SIGKILLs every process in the namespace (its ip netns exec children and whatever they started). */
async function killInside(name: string): Promise<void> {
  const pids = (await ip(['netns', 'pids', name]).catch(() => '')).split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function destroy(owned: Owned): Promise<void> {
  const children = [...owned.children].filter((child) => child.exitCode === null && child.signalCode === null);
  const exited = children.map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of children) child.kill('SIGKILL');
  await killInside(owned.name);
  await Promise.race([Promise.all(exited), new Promise((resolve) => setTimeout(resolve, 2000))]);
  await ipQuiet(['route', 'del', 'blackhole', owned.prefix, 'metric', ROUTE_METRIC, 'proto', ROUTE_PROTO]);
  await destroyQuiet(owned.name, owned.hostInterface);
  registry.owned.delete(owned.name);
}

/** Deletes a veth pair (deleting one end deletes both) and a namespace, either of which may not exist. */
async function destroyQuiet(name: string, hostInterface: string): Promise<void> {
  if (existsSync(`/sys/class/net/${hostInterface}`)) await ipQuiet(['link', 'del', 'dev', hostInterface]);
  if (existsSync(`/run/netns/${name}`)) {
    await killInside(name);
    await ipQuiet(['netns', 'del', name]);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Exit cleanup

function cleanupSync(): void {
  for (const owned of registry.owned.values()) {
    for (const child of owned.children) child.kill('SIGKILL');
    for (const pid of ipSyncQuiet(['netns', 'pids', owned.name]).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    ipSyncQuiet(['route', 'del', 'blackhole', owned.prefix, 'metric', ROUTE_METRIC, 'proto', ROUTE_PROTO]);
    ipSyncQuiet(['link', 'del', 'dev', owned.hostInterface]);
    ipSyncQuiet(['netns', 'del', owned.name]);
  }
  registry.owned.clear();
}

function installExitCleanup(): void {
  if (registry.hooked) return;
  registry.hooked = true;
  // 'exit' also runs after an uncaught exception and process.exit(); signals need their own handlers.
  process.on('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanupSync();
      // Die of the signal as if unhandled, unless someone else (vitest) handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}
