#!/usr/bin/env node
// npm's install step: compiles native/ (the convolution kernels the wasm backend runs in place of
// its own; src/backend/native-kernels.ts) with node-gyp, as better-sqlite3 compiles SQLite.
// It is a speed-up, never a requirement: where it cannot build (no C++ compiler, no Node headers,
// another platform), this says so in one line and the install goes on; training then runs wasm's
// own kernels, with the same numbers, slower. LENET_SWEEP_NATIVE=0 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const native = join(root, 'native');
const addon = join(native, 'build', 'Release', 'lenet_native.node');
// Why the kernels are not built, for `sweep backends` (src/backend/native-addon.ts) to say.
const whyFile = join(native, 'not-built.txt');

/** Says why in one line, here and in whyFile; removes any earlier build, which would otherwise load. */
function notBuilt(why) {
  rmSync(join(native, 'build'), { recursive: true, force: true });
  try {
    writeFileSync(whyFile, `${why}\n`);
  } catch {
    // An unwritable folder: sweep backends then says only that they are not built.
  }
  console.log(`lenet-sweep: native kernels not built (${why}); training runs wasm's own kernels: the same numbers, slower`);
  process.exit(0);
}

if (['0', 'off', 'false', 'no'].includes((process.env.LENET_SWEEP_NATIVE ?? '').toLowerCase())) notBuilt('LENET_SWEEP_NATIVE=0 at install');

/** node-gyp: npm hands its own to install scripts (npm_config_node_gyp); else the one beside npm. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((path) => path && existsSync(path));
}

const gyp = nodeGyp();
if (!gyp) notBuilt("npm's node-gyp was not found");
const started = Date.now();
const run = spawnSync(process.execPath, [gyp, 'rebuild', '--loglevel=error'], { cwd: native, encoding: 'utf8', timeout: 600_000 });
if (run.status === 0 && existsSync(addon)) {
  rmSync(whyFile, { force: true });
  console.log(`lenet-sweep: native kernels built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} else {
  // The line that names the cause (the compiler's "error:", a missing file or program), before
  // the generic ones node-gyp and make add after it ("gyp ERR! ...", "make: *** ... Error 1").
  const said = `${run.stderr ?? ''}${run.stdout ?? ''}${run.error ? String(run.error) : ''}`.split('\n').map((l) => l.trim()).filter(Boolean);
  const cause = said.find((l) => /error:|fatal|not found|No such file|ENOENT|EACCES|timed out/i.test(l) && !/^gyp (ERR|info)|^make(\[\d+\])?: \*\*\*/.test(l));
  // node-gyp's own failures (no Node headers, no Python) say their cause on its "stack Error:" line.
  const gypCause = said.find((l) => /^gyp ERR! stack \w*Error: /.test(l))?.replace(/^gyp ERR! stack /, '');
  const reason = cause ?? gypCause ?? said.find((l) => /error/i.test(l)) ?? said.at(-1) ?? `node-gyp exited with ${run.status ?? run.signal}`;
  notBuilt(`${reason.slice(0, 200)}; \`npm run install\` tries again`);
}
