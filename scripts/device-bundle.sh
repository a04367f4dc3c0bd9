#!/usr/bin/env bash
# Usage: scripts/device-bundle.sh [OUT_DIR]   (default: .device-bundle in the repository, ignored by git)
#
# Makes a folder of at most 64 MiB that runs bench/gpu-check.sh on an x86-64 Linux machine that
# reaches no package registry and may have no Node.js (a lent GPU machine: it receives the
# working tree plus a few ignored folders, 64 MiB in all). OUT_DIR holds two files:
#   run.sh          unpacks the payload into a temporary folder and runs the check there
#   payload.tar.xz  this machine's Node.js; the Vulkan loader (libvulkan.so.1, with glvnd's
#                   libGLdispatch.so.0: the GPU machine's driver brings its own ICD); and app/:
#                   package.json, schemas/, dist/, bench/, the compiled kernels (native/) and
#                   the node_modules files that `sweep backends`, bench/webgpu.mjs and
#                   bench/fuse.mjs load on webgpu and wasm, nothing else.
# Everything travels in one xz stream: Node.js alone is 95 MB, Dawn's dawn.node 21 MB and the
# embedded digits' JSON 21 MB, so only compressed do they fit (xz, not zstd: its decoder is also
# in every python3, should the machine lack the xz command).
#
# The module list below was found by running the check from a bundle in a folder with no
# node_modules above it and adding what failed to load (strace -f -e trace=openat lists what a
# run opens). After a dependency upgrade, `npm run check:device-bundle` says whether it still holds.
# Needs a built checkout (npm ci, npm run build) on x86-64 Linux.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/.device-bundle}"
limit=$((64 * 1024 * 1024))

fail() { echo "device-bundle: $1" >&2; exit 2; }

[ "$#" -le 1 ] || fail "one argument at most, the output folder (usage: scripts/device-bundle.sh [OUT_DIR])"
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || fail "this machine is $(uname -s)-$(uname -m); the bundle carries this machine's Node.js and native modules, and the GPU machine is Linux x86-64: run it on Linux x86-64"
[ -f "$root/dist/cli/main.js" ] || fail "$root/dist/cli/main.js not found: run npm run build first"
modules="$root/node_modules"
[ -f "$modules/webgpu/dist/linux-x64/dawn.node" ] || fail "$modules/webgpu/dist/linux-x64/dawn.node not found: run npm ci (the optional dependency webgpu is the webgpu backend)"
node_bin="$(readlink -f "$(command -v node || true)")"
[ -x "$node_bin" ] || fail "no node on PATH: the bundle carries this machine's Node.js"
[ "$("$node_bin" -p 'process.versions.node.split(".")[0] >= 20')" = true ] || fail "$node_bin is Node.js $("$node_bin" --version); lenet-sweep needs 20 or later"
# The Vulkan loader, and glvnd's dispatch library, which the NVIDIA driver's Vulkan ICD
# (libGLX_nvidia.so.0) links against: the packages libvulkan1 and libglvnd0 are what Vulkan was
# seen to need on the lent machines beside their driver.
library() { ldconfig -p | awk -v name="$1" '$1 == name && /x86-64/ { print $NF; exit }'; }
vulkan="$(library libvulkan.so.1)"
[ -n "$vulkan" ] || fail "the Vulkan loader libvulkan.so.1 is not installed: apt-get install libvulkan1 (or run scripts/install-webgpu-cpu-driver.sh)"
dispatch="$(library libGLdispatch.so.0)"
[ -n "$dispatch" ] || fail "libGLdispatch.so.0 is not installed: apt-get install libglvnd0"
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ] && ! [ -f "$out/run.sh" -a -f "$out/payload.tar.xz" ]; then
  fail "$out exists and is not an earlier bundle (no run.sh and payload.tar.xz in it): name an empty or new folder"
fi

# What app/node_modules keeps, relative to node_modules: each package's package.json (Node reads
# it to resolve the package: main, exports, type) and the files those runs load; a folder is
# copied without type declarations, source maps and Markdown. The tfjs packages keep their Node
# builds (dist/*.node.js) and wasm its three .wasm files (which one loads depends on the CPU), not
# their sources, maps or browser bundles; webgpu keeps its Linux x86-64 dawn.node alone.
keep=(
  @tensorflow/tfjs/package.json
  @tensorflow/tfjs/dist/tf.node.js
  @tensorflow/tfjs-core/package.json
  @tensorflow/tfjs-core/dist/tf-core.node.js
  @tensorflow/tfjs-layers/package.json
  @tensorflow/tfjs-layers/dist/tf-layers.node.js
  @tensorflow/tfjs-converter/package.json
  @tensorflow/tfjs-converter/dist/tf-converter.node.js
  @tensorflow/tfjs-data/package.json
  @tensorflow/tfjs-data/dist/tf-data.node.js
  @tensorflow/tfjs-backend-cpu/package.json
  @tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.node.js
  @tensorflow/tfjs-backend-webgl/package.json
  @tensorflow/tfjs-backend-webgl/dist/tf-backend-webgl.node.js
  @tensorflow/tfjs-backend-webgpu/package.json
  @tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.node.js
  @tensorflow/tfjs-backend-wasm/package.json
  @tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js
  @tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm
  @tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm
  @tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm
  long/package.json # tfjs-core's
  long/src/long.js
  seedrandom/package.json # tfjs-core's and tfjs-data's
  seedrandom/index.js
  seedrandom/seedrandom.js
  seedrandom/lib
  webgpu/package.json
  webgpu/index.js
  webgpu/dist/linux-x64/dawn.node
  better-sqlite3/package.json
  better-sqlite3/lib
  better-sqlite3/build/Release/better_sqlite3.node
  bindings/package.json # better-sqlite3's, to find its .node file
  bindings/bindings.js
  file-uri-to-path/package.json # bindings'
  file-uri-to-path/index.js
  ajv/package.json # the generated experiment validator (dist/config/experiment-validator.cjs) needs this one file
  ajv/dist/runtime/ucs2length.js
  yaml/package.json
  yaml/dist
  piscina/package.json # the CLI's trial pool
  piscina/dist
  is-in-ci/package.json
  is-in-ci/index.js
  mnist/package.json # the embedded digits, converted to IDX files in the dataset cache at first use
  mnist/src/digits
  jpeg-js/package.json # image decoding (predict, and image-folder datasets), which the sweep's data preparation imports
  jpeg-js/index.js
  jpeg-js/lib
  pngjs/package.json
  pngjs/lib
)

stage="$(mktemp -d "${TMPDIR:-/tmp}/lenet-sweep-device-bundle.XXXXXX")"
trap 'rm -rf "$stage" "$out.partial"' EXIT
app="$stage/app"
mkdir -p "$stage/bin" "$stage/lib" "$app/bench" "$app/schemas" "$app/node_modules"
cp "$node_bin" "$stage/bin/node"
cp "$vulkan" "$stage/lib/libvulkan.so.1"
cp "$dispatch" "$stage/lib/libGLdispatch.so.0"
cp "$root/package.json" "$app/"
cp "$root/schemas/experiment.schema.json" "$app/schemas/" # config loading reads it
# dist/ without its type declarations and source maps: nothing runs them.
(cd "$root" && find dist -type f ! -name '*.d.ts' ! -name '*.map' -exec cp --parents -t "$app" {} +)
cp "$root"/bench/*.mjs "$root/bench/gpu-check.sh" "$app/bench/"
# The compiled kernels wasm runs (native/, built by npm ci), where they built: where the GPU
# machine cannot load them, wasm runs its own, with the same numbers.
if [ -f "$root/native/build/Release/lenet_native.node" ]; then
  mkdir -p "$app/native/build/Release"
  cp "$root/native/build/Release/lenet_native.node" "$app/native/build/Release/"
fi
for path in "${keep[@]}"; do
  [ -e "$modules/$path" ] || fail "$modules/$path not found: this list follows the installed packages; find what the new version loads and update scripts/device-bundle.sh"
  (cd "$modules" && find "$path" -type f ! -name '*.d.ts' ! -name '*.map' ! -name '*.md' -exec cp --parents -t "$app/node_modules" {} +)
done

mkdir -p "$out.partial"
# Measured on this payload (150 MiB): xz -9 31.2 MiB, xz -6 31.5, zstd -19 --long=27 33.9, xz -0
# 40.6; xz -9 takes 2 to 4 minutes on one core and decodes in 2 to 5 s. -T1: the same stream anywhere.
tar -C "$stage" --owner=0 --group=0 --sort=name -cf - . | xz -9 -T1 >"$out.partial/payload.tar.xz"
cp "$root/scripts/device-bundle-run.sh" "$out.partial/run.sh"
chmod 755 "$out.partial/run.sh"

size="$(du -sb "$out.partial" | cut -f1)"
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "device-bundle: what the payload unpacks to (uncompressed):"
# One du per path: du counts a file once across its arguments, so @tensorflow/* would read empty after node_modules/*.
(cd "$stage" && for path in bin/node lib/* app/package.json app/schemas app/dist app/bench app/node_modules/[!@]* app/node_modules/@*/*; do du -sb "$path"; done | sort -rn |
  while read -r bytes path; do printf '  %10s  %s\n' "$(mib "$bytes")" "$path"; done)
echo "  $(mib "$(du -sb "$stage" | cut -f1)") in all, $(mib "$(stat -c %s "$out.partial/payload.tar.xz")") as payload.tar.xz (xz -9)"
if [ "$size" -gt "$limit" ]; then
  echo "device-bundle: the bundle is $(mib "$size"), over the 64 MiB a GPU machine receives" >&2
  exit 1
fi
rm -rf "$out"
mv "$out.partial" "$out"
echo "device-bundle: $out is $(mib "$size") ($size bytes; the limit is 64 MiB): copy it to the GPU machine and run $out/run.sh there"
