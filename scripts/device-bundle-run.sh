#!/usr/bin/env bash
# run.sh of the bundle scripts/device-bundle.sh makes: lenet-sweep's GPU check (bench/gpu-check.sh)
# on a machine with no package registry and perhaps no Node.js. Unpacks payload.tar.xz (Node.js,
# the Vulkan loader, the built CLI, the benches and the modules they load) into a temporary folder
# under $TMPDIR (default /tmp), removed at the end, and runs the check there with the bundle's
# Node.js. Needs bash, tar and xz (or python3). The GPU's Vulkan driver comes from the machine:
# the NVIDIA driver's ICD at /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json is named to the
# loader where it exists (VK_DRIVER_FILES), else the loader looks in its usual places.
# Arguments and the check's knobs pass through: IMAGES (or the first argument), TRIALS,
# FUSE_IMAGES, KS, ROUNDS, STEP_KS (see bench/gpu-check.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/lenet-sweep-device-bundle.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if command -v xz >/dev/null; then
  xz -dc "$here/payload.tar.xz"
else
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$here/payload.tar.xz"
fi | tar -x -C "$work"

# The bundle runs what it carries: no modules from elsewhere, no options for another Node.js.
unset NODE_PATH NODE_OPTIONS
# The bundle's loader first; the NVIDIA driver's libraries where the machine keeps them out of
# the linker's usual places.
libs="$work/lib"
for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d "$dir" ] && libs="$libs:$dir"
done
export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$icd" ]; then
  export VK_DRIVER_FILES="$icd"
fi
echo "device bundle: unpacked in $work; VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset, so the Vulkan loader looks in its usual places}"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi || true
fi
NODE="$work/bin/node" bash "$work/app/bench/gpu-check.sh" "$@"
