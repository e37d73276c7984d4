#!/usr/bin/env bash
# Quick start, main job: install dependencies, build the kernels, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Only what the demo links (the kernels and the runtime); scripts/test.sh builds the rest.
LPPOOL_BUILD_TARGETS=lppool_demo bash scripts/build.sh
"${LPPOOL_BUILD_DIR:-build}/examples/lppool_demo"
