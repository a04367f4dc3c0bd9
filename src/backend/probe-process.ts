/**
 * Looks for WebGPU adapters in a process of its own and prints what it found as JSON on stdout
 * (backend/index.ts probeWebgpu runs it): the sweep's process never loads Dawn, whose warnings
 * go straight to the process's stderr, and a driver that crashes on enumeration fails the probe
 * instead of the sweep.
 */
import { findAdapter, listAdapters } from './webgpu.js';

const { found, tried } = await findAdapter();
const adapters = await listAdapters(found?.route.api);
process.stdout.write(`${JSON.stringify({ adapter: found?.adapter ?? null, tried, adapters })}\n`);
// Dawn's instance would keep the process alive.
process.exit(0);
