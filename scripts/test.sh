#!/usr/bin/env bash
# Quick start, tests: install dependencies, build, run the whole suite.
# Prints how long each stage took.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${LPPOOL_BUILD_DIR:-build}"

source scripts/stage.sh

stage "install dependencies" bash scripts/install-deps.sh
stage "build (generators, AOT kernels, runtime, tests)" bash scripts/build.sh
# The OpenCL suite runs the GPU schedule on PoCL (installed above): it must
# run, not skip. The CUDA suite skips, saying why, where there is no GPU.
export LPPOOL_REQUIRE_OPENCL_TESTS=1
if [ -x "$build_dir/tests/test_cuda" ]; then
  # ctest hides a skipped test's output: say here whether CUDA runs, and why not.
  echo "=== CUDA device check:"
  "$build_dir/tests/test_cuda" "[seed]" || true
fi
stage "tests (ctest)" ctest --test-dir "$build_dir" --output-on-failure --parallel "$(nproc)"
