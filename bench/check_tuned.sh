#!/usr/bin/env bash
# The AOT check of a tuned-parameters file: builds the benchmark with and
# without it and times both builds' kernels on the benchmark's cases, in
# alternating processes, at 2 threads.
#   bash bench/check_tuned.sh schedules/tuned/<file>.json [CASES] [ROUNDS]
# CASES: a regex of case ids (default: all of ours, e.g. 'a|d|h_a'); ROUNDS:
# processes per build (default 6). Builds into build-bench/ (default
# kernels, shared with bench/run.sh) and build-bench-tuned/, which generates
# only the kernels the file tunes and links the others from build-bench
# (LPPOOL_KERNELS_FROM).
#
# Why: lppool-tune measures JIT instances; a tuned file is worth committing
# only where the kernels the build compiles are faster too. And one process
# is not enough: a process of either build can run a case in a slow mode
# (case (k): 7.1 ms in most processes, 10-11 ms in some, whichever build),
# which once made a good tuned entry look like a regression.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || [ ! -f "$1" ]; then
  echo "usage: bash bench/check_tuned.sh TUNED_FILE.json [CASES] [ROUNDS]" >&2
  exit 2
fi
tuned_file="$(realpath "$1")"
cases="${2:-[a-z_]+}"
rounds="${3:-6}"
source scripts/stage.sh

stage "install dependencies" bash scripts/install-deps.sh --bench
build() {  # dir tuned_file [cmake args...]
  LPPOOL_BUILD_DIR="$1" bash scripts/build.sh -DLPPOOL_BUILD_BENCH=ON -DLPPOOL_BUILD_TESTS=OFF \
    -DLPPOOL_TUNED_PARAMS="$2" "${@:3}"
}
stage "build the default kernels (build-bench)" build build-bench ""
stage "build the tuned kernels (build-bench-tuned)" build build-bench-tuned "$tuned_file" \
  -DLPPOOL_KERNELS_FROM="$PWD/build-bench"

out=$(mktemp -d)
run() {  # build name round
  # Google Benchmark's names go on after the thread count (/iterations:1/...).
  OMP_WAIT_POLICY=passive HL_NUM_THREADS=2 "$1/bench/lppool_bench" --benchmark_filter="^ours/($cases)/threads:2/" \
    --benchmark_out="$out/$2_$3.json" --benchmark_out_format=json > /dev/null
  if [ ! -s "$out/$2_$3.json" ]; then
    echo "no case of lppool_bench matched '$cases'" >&2
    exit 1
  fi
}
stage_time() {
  for ((r = 0; r < rounds; r++)); do
    # Alternating which build goes first, so neither always follows the other.
    if ((r % 2 == 0)); then
      run build-bench default "$r"; run build-bench-tuned tuned "$r"
    else
      run build-bench-tuned tuned "$r"; run build-bench default "$r"
    fi
  done
}
stage "time both builds, $rounds processes each" stage_time
/usr/bin/python3 bench/ab_report.py default tuned "$out"
rm -rf "$out"
