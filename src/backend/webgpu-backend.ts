/**
 * The webgpu TensorFlow.js backend in this thread (or process): navigator.gpu made before
 * tfjs-backend-webgpu is imported (it registers itself only then), the backend made once on the
 * adapter the probe's route reaches (its device and compiled shaders serve every later trial),
 * and the device watched for faults, which the training loop raises between steps. The adapters
 * themselves (finding, naming, listing) are webgpu.ts's.
 */
import { backend as activeBackend, env, findBackend, getBackend, loadBackendPackage, ready, removeBackend, setBackend } from './tfjs.js';
import { DRIVER_HINT, findAdapter, type AdapterInfo, type Found, type GpuLike } from './webgpu.js';

/** The adapter this thread's webgpu backend runs on, once it has been made. */
let webgpuAdapter: AdapterInfo | undefined;
/** Why this thread's GPU device stopped working (lost, out of memory), if it did. */
let gpuFault: string | undefined;

/** The GPU object tfjs-backend-webgpu sees as navigator.gpu: every adapter request goes through the route found. */
function routedGpu({ gpu, route }: Found): GpuLike {
  return {
    requestAdapter: (options) => gpu.requestAdapter({ ...options, ...route.options }),
  };
}

/**
 * Makes `navigator.gpu` exist in this thread, reaching the route found, and imports the tfjs
 * backend (which registers itself only then). Returns the adapter the backend will use.
 */
async function prepareWebgpu(options: { requireGpu: boolean; adapterName?: string; api?: string }): Promise<AdapterInfo> {
  const { found, tried } = await findAdapter(options.adapterName, options.api);
  if (!found) throw new Error(`no WebGPU adapter found (${tried.join('; ')}): ${DRIVER_HINT}`);
  if (options.requireGpu && found.adapter.cpu) {
    throw new Error(`the only WebGPU adapter is a CPU implementation (${found.adapter.name}), not a GPU`);
  }
  const nav = ((globalThis as unknown as { navigator?: Record<string, unknown> }).navigator ??= {});
  nav.gpu ??= routedGpu(found);
  loadBackendPackage('@tensorflow/tfjs-backend-webgpu');
  // One matrix-product program whatever the shapes. By default tfjs-backend-webgpu picks one
  // from the shapes, and for a long inner dimension with a small output (fc3's weight gradient
  // at batch 2,000 and over) it picks split-K, which adds its partial sums with atomics in
  // whatever order they land: six runs of one product gave six different results on lavapipe,
  // so a trial would not give the same numbers twice, nor a resumed one end as an uninterrupted
  // run. The packed program sums in a fixed order (and whatever the batch of trials beside).
  env().set('WEBGPU_MATMUL_PROGRAM_TYPE', MATMUL_PACKED_PROGRAM);
  return found.adapter;
}

/** tfjs-backend-webgpu's MatMulProgramType.MatMulPackedProgram (its flag takes the enum's number). */
const MATMUL_PACKED_PROGRAM = 3;

/**
 * Lets the thread (or process) end: Dawn keeps it alive while navigator.gpu holds its device.
 * The backend is removed (its buffers freed; it cannot be made again in this process) and the
 * device destroyed first, so that nothing of Dawn is still at work while the process exits.
 */
export function releaseWebgpu(): void {
  if (webgpuAdapter) {
    const device = (findBackend('webgpu') as unknown as { device?: { destroy(): void } } | null)?.device;
    removeBackend('webgpu');
    device?.destroy();
    webgpuAdapter = undefined;
  }
  const nav = (globalThis as unknown as { navigator?: Record<string, unknown> }).navigator;
  if (nav) delete nav.gpu;
}

/** Makes the webgpu backend (once per thread: its device and compiled shaders serve every trial), on the adapter named, else the first found. */
export async function activateWebgpu(requireGpu: boolean, adapterName?: string, api?: string): Promise<{ adapter: AdapterInfo }> {
  if (webgpuAdapter) {
    if (requireGpu && webgpuAdapter.cpu) throw new Error(`the WebGPU adapter is a CPU implementation (${webgpuAdapter.name}), not a GPU`);
    if (getBackend() !== 'webgpu') await setBackend('webgpu');
    return { adapter: webgpuAdapter };
  }
  const adapter = await prepareWebgpu({ requireGpu, adapterName, api });
  // tfjs catches a failing backend factory and answers false; the reason is in the console.
  if (!(await setBackend('webgpu'))) throw new Error(`the webgpu backend did not initialise on ${adapter.name} (${adapter.api})`);
  await ready();
  watchDevice((activeBackend() as unknown as { device: GpuDevice }).device);
  return { adapter: (webgpuAdapter = adapter) };
}

interface GpuDevice {
  lost: Promise<{ reason: string; message: string }>;
  onuncapturederror: ((event: { error: { message: string; constructor: { name: string } } }) => void) | null;
}

/** Remembers the first fault of the device, for checkGpu to raise in the training loop. */
function watchDevice(device: GpuDevice): void {
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') gpuFault ??= `the GPU device was lost (${info.message || info.reason})`;
  });
  device.onuncapturederror = (event) => {
    const { error } = event;
    gpuFault ??= error.constructor.name === 'GPUOutOfMemoryError' ? `the GPU ran out of memory (${error.message})` : `GPU error: ${error.message}`;
  };
}

/** A GPU device that failed: this thread's webgpu backend cannot be used again. */
export class GpuFault extends Error {}

/** Throws GpuFault when this thread's device has failed since it was made. */
export function checkGpu(): void {
  if (gpuFault) throw new GpuFault(gpuFault);
}

