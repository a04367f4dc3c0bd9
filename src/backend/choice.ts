/**
 * Which TensorFlow.js backend a trial trains on, decided without loading tfjs: the backends'
 * names and `auto`'s order (tensorflow-gpu → webgpu on a GPU, not a CPU implementation →
 * tensorflow → wasm → cpu), whether each is installed, what the WebGPU probe finds, and how many
 * trials run at once on them. The main thread of a sweep plans with these alone; a worker makes
 * the backend with index.ts. The native backends come from the optional packages
 * @tensorflow/tfjs-node-gpu and @tensorflow/tfjs-node, whose install downloads libtensorflow;
 * they are not dependencies of this package, so a machine without internet still installs it.
 * webgpu comes from the optional package `webgpu` (Dawn; see webgpu.ts), which carries its binaries.
 *
 * What the WebGPU probe found is kept for the process (part of the backend choice, the one
 * piece of global state).
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { DRIVER_HINT, webgpuInstalled, WEBGPU_PACKAGE, type AdapterInfo } from './webgpu.js';

export type BackendName = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';
export { adapterText, type AdapterInfo } from './webgpu.js';

export const AUTO_ORDER: BackendName[] = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];

/** The npm package that provides each native backend. */
export const NATIVE_PACKAGES: Partial<Record<BackendName, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

export function installHint(name: BackendName): string {
  if (name === 'webgpu') return `install the optional package with \`npm install ${WEBGPU_PACKAGE}\` (it carries Dawn's binaries for Linux, macOS and Windows)`;
  const pkg = NATIVE_PACKAGES[name];
  return pkg
    ? `install it with \`npm install ${pkg}\` (its install downloads libtensorflow, so it needs internet${name === 'tensorflow-gpu' ? ' and CUDA' : ''}), or use backend: wasm`
    : 'it ships with lenet-sweep; reinstall with `npm ci`';
}

const require = createRequire(import.meta.url);

/** What isInstalled found for each backend: resolving a package searches the disk every time (a plan of 200,000 trials asks 200,000 times). */
const installed = new Map<BackendName, boolean>();

/** Whether a backend's package is installed, without loading it (native addons load once per process). */
export function isInstalled(name: BackendName): boolean {
  if (name === 'webgpu') return webgpuInstalled();
  const pkg = NATIVE_PACKAGES[name];
  if (!pkg) return true;
  let found = installed.get(name);
  if (found === undefined) {
    try {
      require.resolve(pkg);
      found = true;
    } catch {
      found = false;
    }
    installed.set(name, found);
  }
  return found;
}

/** What the WebGPU probe found: the adapter a trial would get, or what each route said; and every adapter Dawn lists. */
export interface WebgpuProbe {
  adapter: AdapterInfo | null;
  tried: string[];
  adapters: string[];
}

/** The probe's answer in this process, once asked. */
let webgpuProbe: WebgpuProbe | undefined;

const PROBE_FILE = new URL('./probe-process.js', import.meta.url);
const PROBE_TIMEOUT_MS = 60_000;

/**
 * Looks for a WebGPU adapter once per process, in a child process (probe-process.ts: Dawn's
 * native warnings and crashes stay there); about 0.2 s. plannedBackend counts on it for `auto`:
 * before it, auto passes webgpu by.
 */
export async function probeWebgpu(): Promise<WebgpuProbe> {
  if (webgpuProbe) return webgpuProbe;
  if (!webgpuInstalled()) return (webgpuProbe = { adapter: null, tried: [`the optional package '${WEBGPU_PACKAGE}' is not installed`], adapters: [] });
  const { stdout, failure } = await new Promise<{ stdout: string; failure?: string }>((resolve) => {
    execFile(process.execPath, [fileURLToPath(PROBE_FILE)], { timeout: PROBE_TIMEOUT_MS, encoding: 'utf8' }, (err, out) => {
      resolve({ stdout: out, failure: err ? (err.killed ? `the adapter probe did not answer in ${PROBE_TIMEOUT_MS / 1000} s` : `the adapter probe failed (${err.signal ?? `exit code ${err.code}`})`) : undefined });
    });
  });
  const answer = stdout.trim().split('\n').pop() ?? '';
  try {
    webgpuProbe = JSON.parse(answer) as WebgpuProbe;
  } catch {
    webgpuProbe = { adapter: null, tried: [failure ?? 'the adapter probe gave no answer'], adapters: [] };
  }
  return webgpuProbe;
}

/** Whether `auto` takes webgpu: an adapter that is a GPU, as far as probeWebgpu has found. */
const webgpuForAuto = () => Boolean(webgpuProbe?.adapter && !webgpuProbe.adapter.cpu);

/**
 * Device nodes of Linux GPU drivers: /dev/dri (the kernel's DRM: AMD, Intel, Nouveau, virtio, and
 * most ARM GPUs under Mesa), /dev/nvidia* (NVIDIA's driver), /dev/dxg (WSL), /dev/mali*,
 * /dev/kgsl* and /dev/galcore (the vendors' own drivers for Arm Mali, Qualcomm Adreno and
 * Vivante GPUs).
 */
const GPU_NODES = ['dri', 'nvidia', 'dxg', 'mali', 'kgsl', 'galcore'];

/**
 * Whether this machine may have a GPU for Dawn to find. On Linux the GPU drivers we know of show
 * themselves as device nodes (GPU_NODES). Without one Dawn can find only CPU implementations,
 * which auto passes by anyway, so auto's probe (a process loading Dawn, about 0.3 s at every
 * start of a sweep) is skipped there; `sweep backends` always probes. Elsewhere, and where /dev
 * cannot be read, only the probe can tell.
 */
export function mayHaveGpu(platform = process.platform, dev = '/dev'): boolean {
  if (platform !== 'linux') return true;
  try {
    return readdirSync(dev).some((name) => GPU_NODES.some((node) => name.startsWith(node)));
  } catch {
    return true;
  }
}

/** Whether `auto` takes webgpu here: the package is installed and the probe finds a GPU, not a CPU implementation. */
export async function autoTakesWebgpu(): Promise<boolean> {
  if (!isInstalled('webgpu') || !mayHaveGpu()) return false;
  await probeWebgpu();
  return webgpuForAuto();
}

/** The backend a choice will most likely get, judged without training (await probeWebgpu first for auto's GPU). */
export function plannedBackend(choice: BackendChoice): BackendName {
  return choice === 'auto' ? AUTO_ORDER.find((name) => (name === 'webgpu' ? webgpuForAuto() : isInstalled(name)))! : choice;
}

/**
 * Why `backend: webgpu` cannot run here, or null when it can: for the one-line refusal before
 * anything is written.
 */
export async function webgpuProblem(): Promise<string | null> {
  if (!webgpuInstalled()) return `backend 'webgpu' is not installed: ${installHint('webgpu')}`;
  const { adapter, tried } = await probeWebgpu();
  return adapter ? null : `backend 'webgpu' found no adapter (${tried.join('; ')}): ${DRIVER_HINT}`;
}

/** tfjs-node's native addon loads in one thread per process: its backends get a single worker. */
export function isSingleThreaded(backend: BackendName): boolean {
  return backend in NATIVE_PACKAGES;
}

/**
 * Trials in flight on one WebGPU adapter when none are asked for, at most. Each trial's process
 * spends a core encoding LeNet's many small kernels, so cores bound it first; on lavapipe with 2
 * cores 2 trials gave 1.7x one trial's throughput and 4 gave less (bench/webgpu.mjs). 4 per GPU
 * is a guess not yet measured on a real GPU: run bench/gpu-check.sh there.
 */
export const TRIALS_PER_GPU = 4;

/** Workers when none are asked for: one per core (and at most TRIALS_PER_GPU per adapter on webgpu), or one if any of the backends is single-threaded. */
export function defaultWorkers(choices: BackendChoice[], cores: number, adapters = 1): number {
  const planned = choices.map(plannedBackend);
  if (planned.some(isSingleThreaded)) return 1;
  return planned.includes('webgpu') ? Math.min(cores, TRIALS_PER_GPU * adapters) : cores;
}

/**
 * The most trials a worker trains as one computation by default (sweep --fuse), from
 * `npm run bench:fuse`: on a GPU a group is one set of dispatches for all its trials where one
 * trial leaves the device idle (1.4x at 4 trials on lavapipe); on wasm and cpu the kernels already
 * run at the core's rate and a group saves only per-kernel bookkeeping (1.0-1.1x at 2-4 trials),
 * while its trials would report later and an adaptive search would choose more trials blind.
 */
export function defaultFuse(choices: BackendChoice[]): number {
  const planned = choices.map(plannedBackend);
  if (planned.some(isSingleThreaded)) return 1;
  return planned.includes('webgpu') ? FUSE_ON_GPU : 1;
}

export const FUSE_ON_GPU = 4;

/** Which WebGPU adapter to make the backend on: by (part of) its name (--gpus), through the route (api) the probe found. */
export interface GpuChoice {
  adapter?: string;
  api?: string;
}
