import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import ts from 'typescript';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { available, createNamespace, removeAll, type Namespace } from './netns.js';

// Observed on Linux 6.18 / iproute2 6.1 (more at the top of test/netns.ts):
// - a connect() from a cut-off namespace fails with EHOSTUNREACH after ~3 s (ARP gives up: 3 probes, 1 s
//   apart), never a refusal; after linkUp a fresh connect succeeds at once.
// - an established TCP connection is neither reset nor closed by a cut. What either side wrote during the
//   cut is retransmitted after linkUp, but only when that side's retransmission timer next fires. It backs
//   off exponentially from 200 ms, so after a cut of T seconds the wait can be up to ~T: 5 s cuts gave
//   0.05–1.6 s; a 30 s cut 0.8 s for the namespace's data and 23–25 s for the host's. Until the stalled
//   direction is retransmitted, nothing behind it flows either.

const reason = await available();
const skip = reason !== null;
const title = (text: string): string => (skip ? `${text} (skipped: ${reason})` : text);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lines a child prints, each with when it arrived. */
function lines(child: ChildProcess): Array<{ at: number; line: string }> {
  const seen: Array<{ at: number; line: string }> = [];
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) seen.push({ at: Date.now(), line });
  });
  return seen;
}

async function until<T>(what: string, get: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A TCP server on the host end of ns's veth; records what each connection sends. */
async function hostServer(ns: Namespace) {
  const sockets: net.Socket[] = [];
  const received: Array<{ at: number; text: string }> = [];
  const events: string[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => received.push({ at: Date.now(), text }));
    socket.on('error', (err: NodeJS.ErrnoException) => events.push(`error ${err.code}`));
    socket.on('close', () => events.push('close'));
  });
  server.listen(0, ns.hostAddress);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return { port, sockets, received, events, close };
}

const CONNECT = `
const [host, port, timeout] = process.argv.slice(1);
const started = Date.now();
const socket = require('node:net').connect(Number(port), host);
const done = (outcome, code) => {
  console.log(JSON.stringify({ outcome, code, ms: Date.now() - started }));
  socket.destroy();
  process.exit(0);
};
socket.on('connect', () => done('connected'));
socket.on('error', (err) => done('error', err.code));
setTimeout(() => done('timeout'), Number(timeout));
`;

/** Tries one TCP connect from inside ns to host:port. */
async function connectFrom(ns: Namespace, host: string, port: number, timeoutMs: number) {
  const child = ns.spawn(process.execPath, ['-e', CONNECT, host, String(port), String(timeoutMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const out = lines(child);
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code).toBe(0);
  return JSON.parse(out[0].line) as { outcome: 'connected' | 'error' | 'timeout'; code?: string; ms: number };
}

const RELAY = `
const [host, port] = process.argv.slice(1);
const socket = require('node:net').connect(Number(port), host, () => console.log('connected'));
socket.setEncoding('utf8');
socket.on('data', (text) => { for (const line of text.split('\\n').filter(Boolean)) console.log('got ' + line); });
socket.on('error', (err) => console.log('error ' + err.code));
socket.on('close', () => console.log('close'));
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => socket.write(text));
`;

function ipOut(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

/** What of a namespace (by name, host end and /30) still exists on this machine. */
function leftovers(name: string, hostInterface: string, prefix: string): string[] {
  const found: string[] = [];
  if (ipOut('netns', 'list').split('\n').some((line) => line.split(' ')[0] === name)) found.push(`namespace ${name}`);
  const links = JSON.parse(ipOut('-j', 'link', 'show')) as Array<{ ifname: string; ifalias?: string }>;
  for (const link of links) if (link.ifname === hostInterface || link.ifalias === name) found.push(`link ${link.ifname}`);
  if (ipOut('route', 'show', 'exact', prefix).trim()) found.push(`route ${prefix}`);
  return found;
}

describe('network namespaces for agents (test/netns.ts)', () => {
  afterEach(removeAll);

  it.skipIf(skip)(title('a process in the namespace reaches the host end; linkDown cuts it off, linkUp brings it back'), async () => {
    const ns = await createNamespace(0);
    expect(ns.name).toBe(`lsw-${process.pid}-0`);
    expect(ns.hostInterface.length).toBeLessThanOrEqual(15);
    expect(ns.hostAddress).toMatch(/^10\.2[0-4]\d\.0\.1$/);
    expect(ns.nsAddress).toBe(ns.hostAddress.replace(/\.1$/, '.2'));
    const server = await hostServer(ns);
    try {
      expect(await connectFrom(ns, ns.hostAddress, server.port, 5000)).toMatchObject({ outcome: 'connected' });
      // localhost in the namespace is the namespace's own loopback, not the host's.
      expect(await connectFrom(ns, '127.0.0.1', server.port, 5000)).toMatchObject({ outcome: 'error', code: 'ECONNREFUSED' });

      await ns.linkDown();
      const cut = await connectFrom(ns, ns.hostAddress, server.port, 2500);
      // A hang (until ARP gives up after ~3 s, then EHOSTUNREACH), never a connection or a refusal.
      expect(cut.outcome === 'timeout' || cut.code === 'EHOSTUNREACH').toBe(true);
      expect(server.sockets).toHaveLength(1);

      // Up while the cut's ARP has sent its last probe and not yet given up (~2–3 s in): linkUp's fresh
      // ARP entries keep that from failing the next connect with EHOSTUNREACH.
      await ns.linkUp();
      expect(await connectFrom(ns, ns.hostAddress, server.port, 5000)).toMatchObject({ outcome: 'connected' });
      expect(server.sockets).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it.skipIf(skip)(title('an established connection survives a 5 s cut: what each side wrote during it arrives after linkUp'), async () => {
    const ns = await createNamespace(1);
    const server = await hostServer(ns);
    const client = ns.spawn(process.execPath, ['-e', RELAY, ns.hostAddress, String(server.port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const fromServer = lines(client);
    try {
      await until('the connection', () => (server.sockets.length === 1 && fromServer.length > 0 ? true : undefined), 5000);
      const [socket] = server.sockets;
      client.stdin!.write('before\n');
      socket.write('before\n');
      await until('data both ways', () => (server.received.length > 0 && fromServer.some((l) => l.line === 'got before') ? true : undefined), 2000);

      await ns.linkDown();
      client.stdin!.write('during\n');
      socket.write('during\n');
      await sleep(5000);
      expect(server.received.map((r) => r.text).join('')).toBe('before\n');
      expect(fromServer.map((l) => l.line)).toEqual(['connected', 'got before']);

      const up = Date.now();
      await ns.linkUp();
      const toServer = await until('client → server after linkUp', () => server.received.find((r) => r.text.includes('during'))?.at, 15_000);
      const toClient = await until('server → client after linkUp', () => fromServer.find((l) => l.line === 'got during')?.at, 15_000);
      console.log(`5 s cut: client → server ${toServer - up} ms after linkUp, server → client ${toClient - up} ms after linkUp`);

      // Nothing was reset, and once both directions are retransmitted new data flows at once.
      client.stdin!.write('after\n');
      socket.write('after\n');
      await until('data both ways after the cut', () => (server.received.some((r) => r.text.includes('after')) && fromServer.some((l) => l.line === 'got after') ? true : undefined), 1000);
      expect(server.events).toEqual([]);
      expect(fromServer.map((l) => l.line)).toEqual(['connected', 'got before', 'got during', 'got after']);
      expect(server.received.map((r) => r.text).join('')).toBe('before\nduring\nafter\n');
    } finally {
      client.kill();
      await server.close();
    }
  });

  it.skipIf(skip)(title('remove() kills what runs inside and leaves no namespace, veth or route behind'), async () => {
    const ns = await createNamespace(2);
    const prefix = ns.hostAddress.replace(/\.1$/, '.0/30');
    const sleeper = ns.spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await sleep(200);
    expect(ipOut('netns', 'pids', ns.name).trim()).toBe(String(sleeper.pid));
    expect(leftovers(ns.name, ns.hostInterface, prefix)).toEqual([`namespace ${ns.name}`, `link ${ns.hostInterface}`, `route ${prefix}`]);
    await ns.remove();
    expect(sleeper.signalCode).toBe('SIGKILL');
    expect(leftovers(ns.name, ns.hostInterface, prefix)).toEqual([]);
    await ns.remove(); // twice is harmless
  });

  describe('cleanup when the test process dies', () => {
    let module: string;
    beforeAll(() => {
      // Node 20 cannot import TypeScript, so the child processes import a transpiled copy.
      const dir = tempDir('netns-');
      module = join(dir, 'netns.mjs');
      const source = readFileSync(new URL('./netns.ts', import.meta.url), 'utf8');
      writeFileSync(module, ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
    });

    /** A process that creates a namespace with a process running in it, then ends as `how` says. */
    async function doomed(how: 'throw' | 'SIGTERM' | 'SIGINT' | 'SIGKILL') {
      const script = `
        import { createNamespace } from ${JSON.stringify(module)};
        const ns = await createNamespace(0);
        const sleeper = ns.spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
        await new Promise((resolve) => setTimeout(resolve, 200));
        console.log(JSON.stringify({ name: ns.name, hostInterface: ns.hostInterface, prefix: ns.hostAddress.replace(/\\.1$/, '.0/30'), sleeper: sleeper.pid }));
        ${how === 'throw' ? "process.stdin.once('data', () => { throw new Error('test crashed'); });" : 'setInterval(() => {}, 1000);'}
      `;
      // It throws when told, once its namespace has been seen: a timer could fire before (a loaded machine).
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
      child.stderr!.resume();
      const out = lines(child);
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      const made = JSON.parse(await until('the namespace', () => out[0]?.line, 10_000)) as { name: string; hostInterface: string; prefix: string; sleeper: number };
      expect(leftovers(made.name, made.hostInterface, made.prefix)).toHaveLength(3);
      if (how === 'throw') child.stdin!.write('now\n');
      else child.kill(how);
      const [code, signal] = await exited;
      return { ...made, code, signal };
    }

    /** Running, not a zombie waiting for a parent that may never reap it. */
    const alive = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
      } catch {
        return false;
      }
    };

    for (const how of ['throw', 'SIGTERM', 'SIGINT'] as const) {
      it.skipIf(skip)(title(`${how === 'throw' ? 'an uncaught exception' : how}: removed as the process exits`), async () => {
        const dead = await doomed(how);
        expect(how === 'throw' ? dead.code : dead.signal).toBe(how === 'throw' ? 1 : how);
        expect(leftovers(dead.name, dead.hostInterface, dead.prefix)).toEqual([]);
        await sleep(100);
        expect(alive(dead.sleeper)).toBe(false);
      });
    }

    it.skipIf(skip)(title('SIGKILL: what is left is swept by the next process that calls available()'), async () => {
      const dead = await doomed('SIGKILL');
      expect(dead.signal).toBe('SIGKILL');
      expect(leftovers(dead.name, dead.hostInterface, dead.prefix)).toHaveLength(3);
      expect(alive(dead.sleeper)).toBe(true);
      const sweeper = spawn(process.execPath, ['--input-type=module', '-e', `import { available } from ${JSON.stringify(module)}; console.log(await available());`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const out = lines(sweeper);
      await once(sweeper, 'exit');
      expect(out.map((l) => l.line)).toEqual(['null']);
      expect(leftovers(dead.name, dead.hostInterface, dead.prefix)).toEqual([]);
      await sleep(100);
      expect(alive(dead.sleeper)).toBe(false);
    });
  });
});
