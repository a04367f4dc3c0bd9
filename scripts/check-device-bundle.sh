#!/usr/bin/env bash
# npm run check:device-bundle: makes the GPU-check bundle (scripts/device-bundle.sh) in a
# temporary folder, copies it to a clean one with no node_modules above it, and runs its run.sh
# there with tiny sizes, the way a GPU machine without a registry would: no NODE_PATH, a fresh
# HOME and dataset cache, and (as root, through a private mount namespace) this machine's own
# node and Vulkan loader hidden, so only what the bundle carries can load. On a machine without a
# GPU the webgpu adapter is Mesa's lavapipe (scripts/install-webgpu-cpu-driver.sh). Passes when
# the output shows the backends list with a webgpu adapter and images/s from both benches.
# Too slow for the test suite (compressing Node.js with xz -9 alone takes about a minute).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/lenet-sweep-check-device-bundle.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS

bash "$root/scripts/device-bundle.sh" "$tmp/built"
mkdir -p "$tmp/clean" "$tmp/home" "$tmp/unpack"
cp -r "$tmp/built" "$tmp/clean/bundle"
rm -rf "$tmp/built"
built=$SECONDS

# Nothing above the clean folder may provide modules.
dir="$tmp/unpack"
while [ "$dir" != / ]; do
  dir="$(dirname "$dir")"
  if [ -e "$dir/node_modules" ]; then
    echo "check-device-bundle: $dir/node_modules exists above the clean folder and could provide modules; set TMPDIR to a folder without one above it" >&2
    exit 2
  fi
done

run=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$tmp/home" TMPDIR="$tmp/unpack" LENET_SWEEP_CACHE="$tmp/home/cache"
  IMAGES="${IMAGES:-128}" TRIALS="${TRIALS:-1}" FUSE_IMAGES="${FUSE_IMAGES:-64}" KS="${KS:-1,2}" ROUNDS=1 STEP_KS="${STEP_KS:-1,2}" STEPS=1
  bash "$tmp/clean/bundle/run.sh")
hide=()
status=0
if [ "$(id -u)" = 0 ] && unshare --mount --propagation private true 2>/dev/null; then
  node_bin="$(command -v node || true)"
  [ -n "$node_bin" ] && hide+=("$(readlink -f "$node_bin")")
  hide+=($(ldconfig -p | awk '/libvulkan\.so\.1 .*x86-64/ { print $NF }' | xargs -r readlink -f))
fi
if [ "${#hide[@]}" -gt 0 ]; then
  echo "check-device-bundle: hiding ${hide[*]} from the run"
  mounts=""
  for file in "${hide[@]}"; do mounts+="mount --bind /dev/null '$file'; "; done
  unshare --mount --propagation private bash -c "$mounts"' exec "$@"' hide "${run[@]}" 2>&1 | tee "$tmp/output" || status=$?
else
  echo "check-device-bundle: not root (or no unshare): this machine's node and Vulkan loader stay visible; NODE_PATH is unset and no node_modules is above the run"
  "${run[@]}" 2>&1 | tee "$tmp/output" || status=$?
fi

if [ "$status" -ne 0 ]; then
  echo "check-device-bundle: FAILED: run.sh exited with status $status (its output is above)" >&2
  exit 1
fi
missing=()
grep -q 'webgpu' "$tmp/output" || missing+=('the backends list')
grep -q '^  adapter used: ' "$tmp/output" || missing+=('a webgpu adapter (bench/webgpu.mjs: "adapter used: ...")')
grep -Eq '^  webgpu, 1 trial +in flight: +[0-9]+ images/s' "$tmp/output" || missing+=('webgpu images/s (bench/webgpu.mjs)')
grep -Eq '^  K= ?[0-9]+: fused +[0-9]+ images/s' "$tmp/output" || missing+=('fused images/s (bench/fuse.mjs)')
grep -Eq '^  K= ?[0-9]+: stacked +[0-9.]+ ms/step' "$tmp/output" || missing+=('the stacked step (bench/fuse-step.mjs)')
if [ -f "$root/native/build/Release/lenet_native.node" ]; then
  grep -Eq 'wasm +installed, with .* kernels compiled for this CPU' "$tmp/output" || missing+=('the compiled kernels on wasm (sweep backends: "wasm installed, with ... kernels compiled for this CPU")')
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "check-device-bundle: FAILED: the output lacks ${missing[*]}" >&2
  exit 1
fi
echo "check-device-bundle: passed: bundle made in $((built - start)) s, run from a clean folder in $((SECONDS - built)) s"
