#!/usr/bin/env bash
# Tunes the CUDA kernels' schedules on a GPU machine, from the tarball of
# bench/gpu/pack_tuner.sh (lppool-tune and the libraries its JIT needs):
#   bash bench/gpu/tune.sh <tuner.tar.xz> <output.json> [lppool-tune args]
# Default shapes: the benchmark's cases. Bring <output.json> back and build
# with -DLPPOOL_TUNED_PARAMS=<it> (its kernels are the ..._cuda ones).
set -euo pipefail
tarball="$1"; output="$2"; shift 2
dir=$(mktemp -d)
tar -C "$dir" -xJf "$tarball"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || true
LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  "$dir/lppool-tune" --device cuda --peers none --output "$output" "$@"
