#!/usr/bin/env bash
# Tunes the schedules for this machine and rebuilds the kernels with them:
#   bash scripts/tune.sh [lppool-tune arguments]      e.g. --budget 1200
# Installs the dependencies, builds lppool-tune, runs it (default: the
# benchmark's cases, 600 s of search, progress on the terminal, then the
# table default vs tuned vs Halide's autoschedulers), writes
# schedules/tuned/<device>-<date>.json (or --output), then reconfigures
# ${LPPOOL_BUILD_DIR:-build} with -DLPPOOL_TUNED_PARAMS=<that file> and
# rebuilds, so the kernels the library links are the tuned ones.
# LPPOOL_TUNE_REBUILD=0 skips the rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${LPPOOL_BUILD_DIR:-build}"
source scripts/stage.sh

stage "install dependencies" bash scripts/install-deps.sh
# Configured without tuned files: a stale one (the reason to re-tune) would
# stop the configure; the rebuild below sets the new one.
stage "build lppool-tune" bash -c "cmake -S . -B '$build_dir' -G Ninja -DCMAKE_BUILD_TYPE=Release -DLPPOOL_TUNED_PARAMS= > '$build_dir.tune-configure.log' 2>&1 || { cat '$build_dir.tune-configure.log'; exit 1; }; cmake --build '$build_dir' --target lppool-tune"

output="schedules/tuned/cpu-$(date -u +%Y-%m-%d).json"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --output) output="${args[$((i + 1))]}" ;;
    --device) output="schedules/tuned/${args[$((i + 1))]}-$(date -u +%Y-%m-%d).json" ;;
  esac
done
has_output=0
for a in "$@"; do [ "$a" = "--output" ] && has_output=1; done
[ $has_output -eq 1 ] || args+=(--output "$output")

stage "tune (lppool-tune ${args[*]})" "$build_dir/tools/tune/lppool-tune" "${args[@]}"

if [ "${LPPOOL_TUNE_REBUILD:-1}" != "0" ]; then
  stage "rebuild with $output" bash scripts/build.sh -DLPPOOL_TUNED_PARAMS="$PWD/$output"
  echo "=== $build_dir now holds the kernels tuned by $output"
fi
