/**
 * The compiled kernels' addon (native/, built at install by scripts/build-native.mjs), loaded
 * once per thread, or why not: not built (no compiler at install, another platform), refusing to
 * load, or turned off with LENET_SWEEP_NATIVE=0. Apart from native-kernels.ts (which runs the
 * kernels inside tfjs) so that `sweep backends` can say which kernels run without loading tfjs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon's functions (native/addon.cc). Shapes are [n, h, w, ci, kh, kw, co, sh, sw, dh, dw, pt, pl, oh, ow]. */
export interface NativeAddon {
  forward(x: Float32Array, filter: Float32Array, bias: Float32Array | null, out: Float32Array, shape: Int32Array, relu: boolean): void;
  filterGradient(x: Float32Array, dy: Float32Array, dw: Float32Array, shape: Int32Array): void;
  inputGradient(dy: Float32Array, filter: Float32Array, dx: Float32Array, shape: Int32Array): void;
  /** shape: [batch, m, k, n, transposeA, transposeB, relu]. */
  matMul(a: Float32Array, b: Float32Array, bias: Float32Array | null, c: Float32Array, shape: Int32Array): void;
  /** shape: [n, h, w, c, fy, fx]. */
  upsample(input: Float32Array, out: Float32Array, shape: Int32Array): void;
  instructions(): string;
}

const ADDON_FILE = fileURLToPath(new URL('../../native/build/Release/lenet_native.node', import.meta.url));
/** Why the install did not build it, as scripts/build-native.mjs wrote it. */
const WHY_FILE = fileURLToPath(new URL('../../native/not-built.txt', import.meta.url));

function whyNotBuilt(): string {
  try {
    return `not built at install: ${readFileSync(WHY_FILE, 'utf8').trim()}`;
  } catch {
    return 'not built (`npm run install` builds them)';
  }
}

/** Whether the environment turns the addon off (LENET_SWEEP_NATIVE=0, for comparing the two). */
const turnedOff = () => ['0', 'off', 'false', 'no'].includes((process.env.LENET_SWEEP_NATIVE ?? '').toLowerCase());

/** The addon, loaded once per thread; null where it was not built or will not load, with why. */
let loaded: { addon: NativeAddon | null; why?: string } | undefined;

export function loadNativeAddon(): { addon: NativeAddon | null; why?: string } {
  if (loaded) return loaded;
  if (turnedOff()) return (loaded = { addon: null, why: 'turned off by LENET_SWEEP_NATIVE=0' });
  if (!existsSync(ADDON_FILE)) return (loaded = { addon: null, why: whyNotBuilt() });
  try {
    return (loaded = { addon: createRequire(import.meta.url)(ADDON_FILE) as NativeAddon });
  } catch (err) {
    return (loaded = { addon: null, why: `built but would not load (${(err as Error).message.split('\n')[0]})` });
  }
}

/** What `sweep backends` says of wasm's kernels: the instruction set of the compiled ones, or why wasm runs its own ("…the compiled ones are <why>"). */
export function nativeKernelsText(): string {
  const { addon, why } = loadNativeAddon();
  return addon ? `${addon.instructions()} kernels compiled for this CPU` : `wasm's own kernels (the compiled ones are ${why})`;
}
