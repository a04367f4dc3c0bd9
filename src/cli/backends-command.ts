/**
 * `sweep backends`: which TensorFlow.js backends this machine can run, which one `auto` takes,
 * and the WebGPU adapters Dawn finds (with why there is none, and how to get a driver).
 */
import { adapterText, AUTO_ORDER, installHint, isInstalled, plannedBackend, probeWebgpu } from '../backend/choice.js';
import { nativeKernelsText } from '../backend/native-addon.js';
import { DRIVER_HINT } from '../backend/webgpu.js';
import { UserError } from '../config/errors.js';
import { parse } from './args.js';
import { BACKENDS } from './commands.js';
import { jsonText } from './json-text.js';

export async function backendsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, BACKENDS);
  if (positionals.length) throw new UserError(`sweep backends: unexpected argument '${positionals[0]}'; see sweep backends --help`);
  const probe = await probeWebgpu();
  const auto = plannedBackend('auto');
  const rows = AUTO_ORDER.map((name) => {
    const installed = isInstalled(name);
    const note = !installed
      ? `not installed: ${installHint(name)}`
      : name === 'webgpu'
        ? probe.adapter
          ? `adapter ${adapterText(probe.adapter)}${probe.adapter.cpu ? ': a CPU implementation, for tests; auto passes it by' : ''}`
          : `no adapter (${probe.tried.join('; ')}): ${DRIVER_HINT}`
        : name === 'cpu'
          ? 'plain JavaScript, too slow to train with'
          : name === 'wasm'
            ? `installed, with ${nativeKernelsText()}`
            : 'installed';
    return { name, installed, auto: name === auto, note };
  });
  if (values.json) {
    process.stdout.write(`${jsonText({ auto, backends: rows, webgpu: probe })}\n`);
    return 0;
  }
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) console.log(`${r.auto ? '*' : ' '} ${r.name.padEnd(width)}  ${r.note}`);
  console.log(`\n* auto takes ${auto}`);
  if (probe.adapters.length) console.log(`WebGPU adapters (for --gpus, by number or name): ${probe.adapters.map((a, i) => `${i}: ${a}`).join('; ')}`);
  return 0;
}
