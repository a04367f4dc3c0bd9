#!/usr/bin/env bash
# A prepared check for a machine with a real GPU (or any machine): the WebGPU adapters Dawn
# finds, the reference recipe trained on webgpu with 1, 2, 4 and 8 trials in flight, and the
# wasm figure beside it (bench/webgpu.mjs, on IMAGES training images per trial, default 7000 here: the embedded digits have about 8,000).
# Run it from a built checkout (npm ci). Usage: bench/gpu-check.sh [IMAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
export IMAGES="${1:-${IMAGES:-7000}}"
echo "node $(node --version), $(nproc) cores; GPUs: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | paste -sd';' || echo 'nvidia-smi not found')"
node dist/cli/main.js backends
node bench/webgpu.mjs
