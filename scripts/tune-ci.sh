#!/usr/bin/env bash
# CI's tuning stage: a tiny-budget lppool-tune run writes a tuned file, a
# separate build (build-tuned/) generates the kernels it tunes and links the
# rest from scripts/build.sh's build, the tuned values are checked on the
# generators' command lines, and the whole test suite runs on the tuned
# build. Needs scripts/build.sh's build first.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${LPPOOL_BUILD_DIR:-build}"
tuned_dir=build-tuned
file="$PWD/$build_dir/ci-tuned.json"
source scripts/stage.sh

# One shape whose default is far from its best (two batch items: the
# default parallelizes along L), one on the main forward kernel. No
# autoscheduler peers: ctest's lppool_tune_tiny_run times one already.
stage "tiny tuning run" "$build_dir/tools/tune/lppool-tune" --budget 60 --seed 1 --repeats 5 \
  --shape 2,8,20000,4,2,2.5,f64,channels_last,backward \
  --shape 8,16,4096,4,4,2,f32,rows,forward \
  --peers none --output "$file"

# The tuner cannot time OpenCL here (PoCL crashes beside libHalide's LLVM),
# so non-default GPU tiles are added by hand: the tuned build's OpenCL suite
# then runs them, and the runtime's staging rule must use their tile sizes.
# So are non-default CPU knobs, every knob on at least one kernel of each
# schedule (rows forward, channels-last forward, rows backward): only the
# tuned kernels are generated (the others are the main build's), and
# test_forward checks the general-powers kernel against the rows kernel bit
# for bit, each with other knobs (|x|^p unstaged in one, staged in the
# other). min_parallel_rows 16 sends the general-powers tests' 8 rows down
# the tasks-along-L branch, where long_chunk_outputs applies.
python3 - "$file" <<'PY'
import json, sys
path = sys.argv[1]
data = json.load(open(path))
data["kernels"].update({
    "forward_f32_rows_opencl": {"gpu_tile_outputs": 64, "gpu_stage_powers": True},
    "forward_f64_rows_opencl": {"gpu_tile_outputs": 512},
    "backward_f32_channels_last_opencl": {"gpu_tile_channels": 16, "gpu_tile_positions": 4},
    "forward_f64_rows": {"chunk_outputs": 64, "vector_multiple": 4, "stage_powers": False},
    "forward_f32_rows_general_powers": {"chunk_outputs": 4096, "vector_multiple": 1, "unroll_vectors": 4,
                                        "scratch_on_stack": True},
    "forward_f64_rows_general_powers": {"stage_powers": False, "chunk_outputs": 64, "unroll_vectors": 3,
                                        "min_parallel_rows": 16, "long_chunk_outputs": 4096},
    "forward_f32_channels_last": {"scratch_on_stack": True},
    "backward_f64_rows": {"chunk_outputs": 100, "scratch_on_stack": True},
    "backward_f32_rows": {"unroll_vectors": 2, "scratch_on_stack": True},
})
json.dump(data, open(path, "w"), indent=1)
PY

# Only the tuned kernels are generated (LPPOOL_KERNELS_FROM: the others,
# the Halide runtime among them, are the main build's), for one target, this
# machine's best (below): the tuned knobs are the same in every target's
# variant, the three-target build (scripts/build.sh's) already tests Halide's
# run-time dispatch, and one target saves two thirds of the generator time.
# No second lppool-tune.
# The target is the first of the main build's LPPOOL_CPU_TARGETS (best
# first) whose features this CPU has, not Halide's "host": Halide 14 takes an
# AVX-512 AMD Zen 4 for a Sapphire Rapids and emits AVX512-FP16 there
# (vmovsh: SIGILL in the tuned build's tests).
runs_here() {  # halide target: are all its x86 features in /proc/cpuinfo?
  local flags feature flag
  flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  for feature in $(tr - ' ' <<<"${1#x86-64-linux}"); do
    case "$feature" in
      sse41) feature=sse4_1 ;;
      avx512) feature="avx512f avx512cd" ;;
      avx512_skylake) feature="avx512f avx512cd avx512bw avx512dq avx512vl" ;;
    esac
    for flag in $feature; do [[ "$flags" == *" $flag "* ]] || return 1; done
  done
}
cpu_target=host
if [ "$(uname -m)" = x86_64 ]; then
  IFS=';' read -r -a main_targets < <(sed -n 's/^LPPOOL_CPU_TARGETS:STRING=//p' "$build_dir/CMakeCache.txt") || true
  cpu_target=""
  for t in "${main_targets[@]}"; do
    if runs_here "$t"; then cpu_target=$t; break; fi
  done
  [ -n "$cpu_target" ] || { echo "no LPPOOL_CPU_TARGETS of $build_dir runs on this CPU"; exit 1; }
fi
echo "=== tuned build's CPU target: $cpu_target"
stage "build from the tuned file" bash -c "LPPOOL_BUILD_DIR=$tuned_dir bash scripts/build.sh -DLPPOOL_TUNED_PARAMS=$file -DLPPOOL_BUILD_PYTHON=OFF -DLPPOOL_CPU_TARGETS=$cpu_target -DLPPOOL_KERNELS_FROM=$PWD/$build_dir -DLPPOOL_BUILD_TUNER=OFF > $build_dir/tuned-build.log 2>&1 || { tail -50 $build_dir/tuned-build.log; exit 1; }; grep 'LPPool: tuned schedules' $build_dir/tuned-build.log && grep 'LPPool: untuned kernels linked' $build_dir/tuned-build.log"

# Every tuned value must be on its kernel's generator command line.
checked=0
while read -r kernel params; do
  commands=$(ninja -C "$tuned_dir" -t commands "generators/liblppool1d_${kernel}.a" | grep -- "-n lppool1d_${kernel} " || true)
  [ -n "$commands" ] || { echo "no generator command for lppool1d_${kernel}"; exit 1; }
  for p in ${params//;/ }; do
    grep -q -- " $p\( \|$\)" <<<"$commands" || { echo "lppool1d_${kernel}: $p not passed to the generator"; exit 1; }
    checked=$((checked + 1))
  done
done < <(cmake -DLPPOOL_SOURCE_DIR="$PWD" -DTUNED_FILE="$file" -P cmake/LPPoolTuned.cmake |
         sed -n 's/^--   \([a-z0-9_]*\): \(.*\)$/\1 \2/p')
[ $checked -gt 0 ] || { echo "the tuned file set no knobs"; exit 1; }
echo "=== $checked tuned knob values reach their generators"
grep -q "LPPOOL_STAGING_TILE_opencl_f32=64 .*LPPOOL_STAGING_TILE_opencl_f64=512\|LPPOOL_STAGING_TILE_opencl_f64=512 .*LPPOOL_STAGING_TILE_opencl_f32=64" \
  <(ninja -C "$tuned_dir" -t commands runtime/liblppool.a) ||
  { echo "the runtime was not told the tuned OpenCL staging tiles"; exit 1; }

export LPPOOL_REQUIRE_OPENCL_TESTS=1
stage "tests on the tuned build (ctest)" ctest --test-dir "$tuned_dir" --output-on-failure --parallel "$(nproc)"
