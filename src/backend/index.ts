/**
 * Making the TensorFlow.js backend a thread trains on (choice.ts decides which, without tfjs):
 * `auto` takes the first that loads in choice.ts's order, with our extra kernels registered.
 *
 * The backend is the one piece of per-thread global state: tfjs's active backend, which
 * backend `auto` found in this thread, and what the WebGPU probe found (choice.ts).
 */
import { enableProdMode, getBackend, loadBackendPackage, ready, setBackend } from './tfjs.js';
import { processUsage } from '../util/process-limits.js';
import { registerFastGradients } from './fast-gradients.js';
import { gigabytes } from './memory.js';
import { registerNativeKernels } from './native-kernels.js';
import { registerWasmKernels } from './wasm-kernels.js';
import { activateWebgpu } from './webgpu-backend.js';
import type { AdapterInfo } from './webgpu.js';
import { AUTO_ORDER, autoTakesWebgpu, installHint, isInstalled, NATIVE_PACKAGES, type BackendChoice, type BackendName, type GpuChoice } from './choice.js';

/** What activate found: the WebGPU adapter, where there is one. */
type Activated = { adapter?: AdapterInfo };

async function activate(name: BackendName, requireGpu = false, gpu: GpuChoice = {}): Promise<Activated> {
  if (name === 'webgpu') return activateWebgpu(requireGpu, gpu.adapter, gpu.api);
  const pkg = NATIVE_PACKAGES[name];
  if (pkg) {
    loadBackendPackage(pkg); // registers the 'tensorflow' backend
    if (getBackend() === 'tensorflow') return {};
    if (!(await setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its backend did not initialise`);
    return {};
  }
  if (name === 'wasm') {
    quietWasmMessages();
    loadBackendPackage('@tensorflow/tfjs-backend-wasm');
    registerWasmKernels();
    registerNativeKernels();
    registerFastGradients();
  }
  if (getBackend() === name) return {};
  wasmFailure = undefined;
  if (!(await setBackend(name))) throw new BackendInitError(name, name === 'wasm' ? wasmFailure : undefined);
  await ready();
  return {};
}

/**
 * A backend that would not start, with the reason where the backend said one. wasm cannot
 * allocate its memory where the process's address space is limited (`ulimit -v`): said so, since
 * falling back to the cpu backend would train a hundred times slower.
 */
class BackendInitError extends Error {
  readonly outOfMemory: boolean;
  constructor(name: BackendName, reason: string | undefined) {
    const outOfMemory = reason !== undefined && /out of memory/i.test(reason);
    const limit = outOfMemory ? processUsage()?.addressSpace : undefined;
    super(
      `the ${name} backend did not initialise${reason ? ` (${reason})` : ''}` +
        (outOfMemory
          ? `: wasm reserves about 11 GB of address space for its memory, and this process may map ${limit === undefined ? 'less' : `${gigabytes(limit)} (ulimit -v ${Math.floor(limit / 1024)})`}; raise the limit or lift it (ulimit -v unlimited)`
          : ''),
    );
    this.outOfMemory = outOfMemory;
  }
}

/** What the wasm module said when it could not start, caught by quietWasmMessages. */
let wasmFailure: string | undefined;

/** Whether tensors of the active backend must be read asynchronously (webgpu queues its work on the GPU). */
export function readsAsynchronously(): boolean {
  return getBackend() === 'webgpu';
}

/** Whether this thread's console already drops the wasm module's own failure lines. */
let quieted = false;

/**
 * The wasm module prints XNNPACK's failures and its aborts to stderr ("XNN status for
 * xnn_create_convolution2d_nhwc_f32 is not successful. Got status 6", "Aborted(…)") through
 * console.warn, which it binds when it starts: dropped here, before that, since the trial's
 * error says what happened and what to change; so is its failure to start, which is kept for
 * that error.
 */
function quietWasmMessages(): void {
  if (quieted) return;
  quieted = true;
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /^(XNN status|Aborted\()/.test(args[0])) return;
    // "failed to asynchronously prepare wasm: RangeError: WebAssembly.instantiate(): Out of memory: …":
    // the backend's error says it.
    const failed = typeof args[0] === 'string' ? /^failed to asynchronously prepare wasm: (.*)$/s.exec(args[0]) : null;
    if (failed) {
      wasmFailure = failed[1].split('\n')[0];
      return;
    }
    warn.apply(console, args);
  };
}

/** The backend `auto` settled on in this thread: probing again for every trial would be wasted. */
let autoResult: BackendName | undefined;

/** The backend a trial runs on, and the WebGPU adapter for webgpu. */
export interface ActiveBackend {
  name: BackendName;
  adapter?: AdapterInfo;
}

/**
 * Makes the chosen backend the active one in this thread and returns it. Trials of one sweep
 * may ask for different backends (sweeping `backend`), so a thread can switch. For `auto`,
 * `gpu` says whether webgpu is worth trying: the main thread's probeWebgpu found a GPU (a worker
 * is told, instead of enumerating adapters again; undefined probes in this thread).
 */
export async function initBackend(choice: BackendChoice, options: { gpu?: boolean } & GpuChoice = {}): Promise<ActiveBackend> {
  // Production mode skips tfjs's debug checks and its console banner about tfjs-node.
  enableProdMode();
  if (choice !== 'auto') {
    if (!isInstalled(choice)) throw new Error(`backend '${choice}' is not installed: ${installHint(choice)}`);
    return { name: choice, ...(await activate(choice, false, options)) };
  }
  if (autoResult) return { name: autoResult, ...(await activate(autoResult, true, options)) };
  const gpu = options.gpu ?? (await autoTakesWebgpu());
  const failures: string[] = [];
  for (const name of AUTO_ORDER) {
    if (!isInstalled(name) || (name === 'webgpu' && !gpu)) continue;
    try {
      // auto takes a GPU through WebGPU, never a CPU implementation of one: wasm is faster there.
      const activated = await activate(name, true, options);
      autoResult = name;
      return { name, ...activated };
    } catch (err) {
      // Where wasm lacks memory, the cpu backend would train a hundred times slower: the trial fails, saying why.
      if (err instanceof BackendInitError && err.outOfMemory) throw err;
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could be initialised (${failures.join('; ')})`);
}
