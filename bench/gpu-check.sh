#!/usr/bin/env bash
# A prepared check for a machine with a real GPU (or any machine): the WebGPU adapters Dawn
# finds, the reference recipe trained on webgpu with 1, 2, 4 and 8 trials in flight, and the
# wasm figure beside it (bench/webgpu.mjs, on IMAGES training images per trial, default 7000 here: the embedded digits have about 8,000);
# then fused trials on the one adapter (bench/fuse.mjs): the total images/s of K trials trained
# as one group against the same K one after another, for K in KS (default 1,4,16,64), FUSE_IMAGES
# training images per trial (default 2048), ROUNDS rounds (default 1); last, one training step of
# K trials written as one stacked model against K single steps (bench/fuse-step.mjs, STEP_KS,
# default 1,4,16,64): whether the layout the design proposes pays on this GPU, and stays exact.
# Run it from a built checkout (npm ci), or from the bundle scripts/device-bundle.sh makes (its
# run.sh sets NODE to the bundle's own Node.js). Usage: bench/gpu-check.sh [IMAGES]
# Knobs (environment): NODE (default node), IMAGES, TRIALS (bench/webgpu.mjs's list, default
# 1,2,4,8), FUSE_IMAGES, KS, ROUNDS, STEP_KS. Tiny sizes for a CPU implementation of Vulkan, e.g.
#   IMAGES=256 TRIALS=1,2 FUSE_IMAGES=128 KS=1,2 STEP_KS=1,2 bench/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
NODE="${NODE:-node}"
export IMAGES="${1:-${IMAGES:-7000}}"
gpus="$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | paste -sd';')" || gpus='nvidia-smi not found'
echo "node $("$NODE" --version), $(nproc) cores; GPUs: $gpus"
"$NODE" dist/cli/main.js backends
"$NODE" bench/webgpu.mjs
BENCH_BACKEND=webgpu KS="${KS:-1,4,16,64}" IMAGES="${FUSE_IMAGES:-2048}" ROUNDS="${ROUNDS:-1}" "$NODE" bench/fuse.mjs
KS="${STEP_KS:-1,4,16,64}" "$NODE" bench/fuse-step.mjs
