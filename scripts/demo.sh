#!/usr/bin/env bash
# Quick start, main job: install dependencies, build the kernels, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
"${LPPOOL_BUILD_DIR:-build}/examples/lppool_demo"
