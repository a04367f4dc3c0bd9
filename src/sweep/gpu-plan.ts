/**
 * What a sweep's trials need to know about WebGPU, settled before the database is opened:
 * `backend: webgpu` without an adapter and a --gpus list naming none are bad input; `auto`
 * takes webgpu only where the probe found a GPU (not a CPU implementation of one).
 */
import { autoTakesWebgpu, probeWebgpu, webgpuProblem, type BackendChoice } from '../backend/choice.js';
import { pickAdapters } from '../backend/webgpu.js';
import { UserError } from '../config/errors.js';

export interface GpuPlan {
  /** Whether `backend: auto` takes webgpu. */
  gpu: boolean;
  /** The adapters to spread the workers over, by name (--gpus); empty: the first found. */
  gpus: string[];
  /** The route to the adapter the probe found (vulkan, metal, d3d12, opengles), for webgpu trials. */
  gpuApi?: string;
}

/** `source` names where the backends came from in a refusal: the file, or --backend. */
export async function planGpus(backends: BackendChoice[], source: string, gpusOption: string | undefined): Promise<GpuPlan> {
  const explicit = backends.includes('webgpu');
  if (explicit) {
    const problem = await webgpuProblem();
    if (problem) throw new UserError(`${source}: ${problem}`);
  }
  const gpu = backends.includes('auto') && (await autoTakesWebgpu());
  const webgpu = explicit || gpu;
  const probe = webgpu ? await probeWebgpu() : undefined;
  if (gpusOption !== undefined && !webgpu) throw new UserError('--gpus: no trial runs on webgpu (backend: webgpu, or auto on a machine with a GPU); see sweep backends');
  let gpus: string[] = [];
  if (gpusOption !== undefined) {
    try {
      gpus = pickAdapters(gpusOption, probe!.adapters);
    } catch (err) {
      throw new UserError(`--gpus: ${(err as Error).message}`);
    }
  }
  return { gpu, gpus, gpuApi: webgpu ? probe?.adapter?.api : undefined };
}
