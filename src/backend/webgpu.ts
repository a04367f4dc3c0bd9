/**
 * WebGPU adapters through Dawn, the WebGPU implementation inside the optional npm package
 * `webgpu` (its native addon for each platform ships in the package: nothing is downloaded):
 * finding one, telling a GPU from a CPU implementation, naming and listing them. The tfjs
 * backend made on one is webgpu-backend.ts's.
 * Dawn drives Vulkan on Linux, Metal on macOS and D3D12 on Windows; where Vulkan has no usable
 * driver, Linux gets a second route through OpenGL ES (EGL without a display), which Mesa
 * provides on a stock Debian.
 *
 * What the rest of the program must know (measured in ../shared/spikes/webgpu):
 * - tfjs-backend-webgpu registers itself only if `navigator.gpu` exists when it is imported;
 * - reading a tensor synchronously fails there (no OffscreenCanvas in Node): read with data();
 * - Node does not exit while `navigator.gpu` holds a device: releaseWebgpu() lets it go;
 * - CPU implementations (Mesa's llvmpipe/lavapipe, SwiftShader) run every kernel, slowly: fine
 *   for tests, never what `auto` should pick.
 */
import { createRequire } from 'node:module';

/** What a trial records about the adapter it ran on. */
export interface AdapterInfo {
  vendor: string;
  /** The device as Dawn names it to JavaScript (lavapipe: "llvmpipe-llvm-15-0-6-256-bits-"). */
  name: string;
  /** The driver's description (its version, for Mesa). */
  description: string;
  /** The native API Dawn drives it with: vulkan, metal, d3d12 or opengles. */
  api: string;
  /** A CPU implementation of the API, not a GPU. */
  cpu: boolean;
}

/** One way to reach an adapter: Dawn's flags and the adapter options it needs. */
interface Route {
  api: string;
  flags: string[];
  options: Record<string, unknown>;
  /** Environment the route's driver needs, set in this process before Dawn loads it. */
  env?: Record<string, string>;
}

export interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<AdapterLike | null>;
}

interface AdapterLike {
  info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
}

interface Dawn {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

export const WEBGPU_PACKAGE = 'webgpu';

const NATIVE_API: Record<string, string> = { linux: 'vulkan', darwin: 'metal', win32: 'd3d12' };

/** How to get a driver, for the messages of a machine where none was found. */
export const DRIVER_HINT =
  process.platform === 'linux'
    ? 'install your GPU vendor\'s Vulkan driver; without a GPU, `sudo scripts/install-webgpu-cpu-driver.sh` installs a CPU one (Mesa\'s lavapipe), for tests'
    : 'update your GPU driver';

const require = createRequire(import.meta.url);

let dawn: Dawn | undefined;

/**
 * Dawn's addon, loaded once per thread, with its WebGPU constants (GPUBufferUsage…) made global
 * as tfjs-backend-webgpu expects; throws when the optional package is not installed.
 */
function loadDawn(): Dawn {
  if (!dawn) {
    dawn = require(WEBGPU_PACKAGE) as Dawn;
    Object.assign(globalThis, dawn.globals);
  }
  return dawn;
}

/** Whether the optional package installed on this platform, without loading its addon. */
export function webgpuInstalled(): boolean {
  try {
    require.resolve(WEBGPU_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

/**
 * Routes in the order they are tried: the platform's native API first; on Linux then OpenGL ES
 * through EGL without a display, in WebGPU's compatibility mode (GL backends exist only there).
 */
function routes(adapterName: string | undefined): Route[] {
  const pick = adapterName ? [`adapter=${adapterName}`] : [];
  const native: Route = { api: NATIVE_API[process.platform] ?? 'native', flags: pick, options: { powerPreference: 'high-performance' } };
  if (process.platform !== 'linux') return [native];
  return [
    native,
    { api: 'opengles', flags: ['backend=opengles', ...pick], options: { powerPreference: 'high-performance', featureLevel: 'compatibility' }, env: { EGL_PLATFORM: 'surfaceless' } },
  ];
}

/** A CPU implementation rather than a GPU: Dawn says so for Vulkan's, the name tells for GL's. */
export function isCpuAdapter(info: AdapterLike['info']): boolean {
  return Boolean(info.isFallbackAdapter) || info.architecture === 'software' || /llvmpipe|lavapipe|softpipe|swiftshader|software/i.test(`${info.device} ${info.description}`);
}

function describe(adapter: AdapterLike, api: string): AdapterInfo {
  const { vendor, device, description } = adapter.info;
  return { vendor, name: device || description, description, api, cpu: isCpuAdapter(adapter.info) };
}

export interface Found {
  adapter: AdapterInfo;
  route: Route;
  /** The Dawn instance that found it: each new one enumerates the adapters again. */
  gpu: GpuLike;
}

/**
 * The first adapter any route reaches, or null with what each route said. `adapterName` picks
 * one by (part of) its name, as Dawn's `adapter` flag does; `api` takes only that route.
 */
export async function findAdapter(adapterName?: string, api?: string): Promise<{ found: Found | null; tried: string[] }> {
  if (!webgpuInstalled()) return { found: null, tried: [`the optional package '${WEBGPU_PACKAGE}' is not installed (npm install ${WEBGPU_PACKAGE})`] };
  const { create } = loadDawn();
  const tried: string[] = [];
  // A route already known to work (the sweep's probe found it) is the only one tried: the
  // others would fail again, printing the driver's complaints.
  for (const route of routes(adapterName).filter((r) => api === undefined || r.api === api)) {
    for (const [k, v] of Object.entries(route.env ?? {})) process.env[k] ??= v;
    try {
      const gpu = create(route.flags);
      const adapter = await gpu.requestAdapter(route.options);
      if (adapter) return { found: { adapter: describe(adapter, route.api), route, gpu }, tried };
      tried.push(`${route.api}: no adapter`);
    } catch (err) {
      tried.push(`${route.api}: ${firstLine(err)}`);
    }
  }
  return { found: null, tried };
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/** The adapters Dawn enumerates on a route, by name (Dawn's own listing, from its error for a name no adapter has). */
export async function listAdapters(api?: string): Promise<string[]> {
  if (!webgpuInstalled()) return [];
  const { create } = loadDawn();
  // On the route given (the one the adapter was found on), else the platform's native API.
  const route = routes('\u0001none').find((r) => api === undefined || r.api === api) ?? routes('\u0001none')[0];
  for (const [k, v] of Object.entries(route.env ?? {})) process.env[k] ??= v;
  try {
    await create(route.flags).requestAdapter(route.options);
    return [];
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    return [...text.matchAll(/^ \* backend: '[^']*', name: '(.*)'$/gm)].map((m) => m[1]);
  }
}

/** An adapter in a few words: "nvidia-h200 (vulkan)", "llvmpipe-llvm-15-0-6-256-bits- (vulkan, CPU)". */
export function adapterText(adapter: AdapterInfo): string {
  return `${adapter.name} (${adapter.api}${adapter.cpu ? ', CPU' : ''})`;
}

/**
 * Dawn's notices that it clamped a limit to what it supports, printed natively on every adapter
 * request (on lavapipe and on real GPUs alike): not a problem, and nothing a user can act on.
 */
export function isDawnNoise(line: string): boolean {
  return /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+/.test(line);
}

/**
 * The adapters a --gpus list names, by the names Dawn lists them under: each entry an index into
 * that list (from 0) or part of a name. Throws a message for the user when an entry names none,
 * several different adapters, or one Dawn cannot tell from another (Dawn picks adapters by name:
 * of two identical GPUs it reaches the first).
 */
export function pickAdapters(list: string, adapters: string[]): string[] {
  const listing = adapters.length ? adapters.map((a, i) => `${i}: ${a}`).join('; ') : 'none';
  // Dawn lists "llvmpipe (LLVM 15.0.6, 256 bits)" where JavaScript sees (and trials record)
  // "llvmpipe-llvm-15-0-6-256-bits-": names are compared in that second spelling.
  const spelled = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const picked = list.split(',').map((entry) => {
    const item = entry.trim();
    if (/^\d+$/.test(item)) {
      const name = adapters[Number(item)];
      if (name === undefined) throw new Error(`no adapter ${item} (adapters: ${listing})`);
      if (adapters.indexOf(name) !== Number(item)) throw new Error(`adapter ${item} has the same name as adapter ${adapters.indexOf(name)} ('${name}'), and Dawn picks adapters by name: only the first of them can be used`);
      return name;
    }
    const matches = [...new Set(adapters.filter((a) => spelled(a).includes(spelled(item))))];
    if (item === '' || matches.length === 0) throw new Error(`no adapter named '${item}' (adapters: ${listing})`);
    if (matches.length > 1) throw new Error(`'${item}' names several adapters (${matches.join('; ')}); give more of the name, or its number (adapters: ${listing})`);
    return matches[0];
  });
  const twice = picked.find((name, i) => picked.indexOf(name) !== i);
  if (twice !== undefined) throw new Error(`adapter '${twice}' is named twice; name each adapter once (--workers sets how many trials share one)`);
  return picked;
}
