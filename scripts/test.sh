#!/usr/bin/env bash
# Quick start, tests: install dependencies, build, run the whole suite.
# Prints how long each stage took.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${LPPOOL_BUILD_DIR:-build}"

stage() {
  local name="$1"; shift
  local start=$SECONDS
  echo "=== [stage] $name"
  "$@"
  echo "=== [stage] $name took $((SECONDS - start)) s"
}

stage "install dependencies" bash scripts/install-deps.sh
stage "build (generators, AOT kernels, runtime, tests)" bash scripts/build.sh
stage "tests (ctest)" ctest --test-dir "$build_dir" --output-on-failure --parallel "$(nproc)"
