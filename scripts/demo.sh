#!/usr/bin/env bash
# Quick start, main job: install dependencies, build the kernels, run the demo.
# Prints how long each stage took.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stage.sh
stage "install dependencies" bash scripts/install-deps.sh
# Only what the demo links (the kernels and the runtime); scripts/test.sh builds the rest.
stage "build (generators, AOT kernels, runtime, demo)" env LPPOOL_BUILD_TARGETS=lppool_demo bash scripts/build.sh
stage "demo" "${LPPOOL_BUILD_DIR:-build}/examples/lppool_demo"
