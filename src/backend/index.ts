/**
 * Choosing the TensorFlow.js backend. `auto` takes the first that loads of
 * tensorflow-gpu → tensorflow → wasm → cpu. The native backends come from the optional packages
 * @tensorflow/tfjs-node-gpu and @tensorflow/tfjs-node, whose install downloads libtensorflow; they
 * are not dependencies of this package, so a machine without internet still installs it.
 *
 * The backend is the one piece of per-thread global state: tfjs's active backend, and which
 * backend `auto` found in this thread.
 */
import { createRequire } from 'node:module';
import { enableProdMode, getBackend, ready, setBackend } from '@tensorflow/tfjs';
import { registerFastGradients } from './fast-gradients.js';
import { registerWasmKernels } from './wasm-kernels.js';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';

export const AUTO_ORDER: BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** The npm package that provides each native backend. */
export const NATIVE_PACKAGES: Partial<Record<BackendName, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

export function installHint(name: BackendName): string {
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

/** The backend a choice will most likely get, judged without loading anything. */
export function plannedBackend(choice: BackendChoice): BackendName {
  return choice === 'auto' ? AUTO_ORDER.find(isInstalled)! : choice;
}

/** tfjs-node's native addon loads in one thread per process: its backends get a single worker. */
export function isSingleThreaded(backend: BackendName): boolean {
  return backend in NATIVE_PACKAGES;
}

/** Workers when none are asked for: one per core, or one if any of the backends is single-threaded. */
export function defaultWorkers(choices: BackendChoice[], cores: number): number {
  return choices.map(plannedBackend).some(isSingleThreaded) ? 1 : cores;
}

async function activate(name: BackendName): Promise<void> {
  const pkg = NATIVE_PACKAGES[name];
  if (pkg) {
    await import(pkg); // registers the 'tensorflow' backend
    if (getBackend() === 'tensorflow') return;
    if (!(await setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its backend did not initialise`);
    return;
  }
  if (name === 'wasm') {
    quietWasmMessages();
    await import('@tensorflow/tfjs-backend-wasm');
    registerWasmKernels();
    registerFastGradients();
  }
  if (getBackend() === name) return;
  if (!(await setBackend(name))) throw new Error(`the ${name} backend did not initialise`);
  await ready();
}

/** Whether this thread's console already drops the wasm module's own failure lines. */
let quieted = false;

/**
 * The wasm module prints XNNPACK's failures and its aborts to stderr ("XNN status for
 * xnn_create_convolution2d_nhwc_f32 is not successful. Got status 6", "Aborted(…)") through
 * console.warn, which it binds when it starts: dropped here, before that, since the trial's
 * error says what happened and what to change.
 */
function quietWasmMessages(): void {
  if (quieted) return;
  quieted = true;
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /^(XNN status|Aborted\()/.test(args[0])) return;
    warn.apply(console, args);
  };
}

/** The backend `auto` settled on in this thread: probing again for every trial would be wasted. */
let autoResult: BackendName | undefined;

/**
 * Makes the chosen backend the active one in this thread and returns its name. Trials of one
 * sweep may ask for different backends (sweeping `backend`), so a thread can switch.
 */
export async function initBackend(choice: BackendChoice): Promise<BackendName> {
  // Production mode skips tfjs's debug checks and its console banner about tfjs-node.
  enableProdMode();
  if (choice !== 'auto') {
    if (!isInstalled(choice)) throw new Error(`backend '${choice}' is not installed: ${installHint(choice)}`);
    await activate(choice);
    return choice;
  }
  if (autoResult) {
    await activate(autoResult);
    return autoResult;
  }
  const failures: string[] = [];
  for (const name of AUTO_ORDER) {
    if (!isInstalled(name)) continue;
    try {
      await activate(name);
      return (autoResult = name);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could be initialised (${failures.join('; ')})`);
}
