#!/usr/bin/env bash
# Configures and builds everything (generators, AOT kernels, runtime, tests,
# demo) into ${LPPOOL_BUILD_DIR:-build}. Extra arguments go to CMake.
# LPPOOL_BUILD_TARGETS (space-separated) builds only those targets;
# LPPOOL_CPU_TARGETS (semicolon-separated Halide targets) replaces the CPU
# kernels' default targets.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${LPPOOL_BUILD_DIR:-build}"
cpu_targets=()
[ -n "${LPPOOL_CPU_TARGETS:-}" ] && cpu_targets=(-DLPPOOL_CPU_TARGETS="$LPPOOL_CPU_TARGETS")
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${cpu_targets[@]}" "$@"
targets=()
for t in ${LPPOOL_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" --parallel "$(nproc)" "${targets[@]}"
