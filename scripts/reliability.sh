#!/usr/bin/env bash
# Reliability stages (CI runs them after scripts/test.sh), each timed:
#   sanitizers  ASan + UBSan (+ LeakSanitizer) build of the runtime, tests and
#               examples; the whole Catch2 suite (CPU and OpenCL) under them
#   valgrind    memcheck on the demo and a test subset (normal build)
#   fuzz        libFuzzer (clang-14) on the public API, seed corpus + 90 s
#   arm         the library and tests cross-compiled for aarch64 (NEON
#               kernels) and run under qemu-aarch64
# Usage: bash scripts/reliability.sh [stage...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${LPPOOL_BUILD_DIR:-build}"
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(sanitizers valgrind fuzz arm)

source scripts/stage.sh

sanitizers() {
  local dir=build-sanitize
  # The kernels are not instrumented: this build links the normal build's
  # (LPPOOL_KERNELS_FROM, cmake/LPPoolKernels.cmake) and compiles only the
  # C++ (runtime, tests, examples) with the sanitizers, at -O1 (ASan's
  # usual level: -O2 took 4x as long to compile the GPU suite).
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLPPOOL_SANITIZE=ON \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG" \
        -DLPPOOL_BUILD_PYTHON=OFF -DLPPOOL_KERNELS_FROM="$PWD/$build_dir" > "$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j "$(nproc)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$PWD/tests/ubsan.supp" \
  LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0" \
  LPPOOL_REQUIRE_OPENCL_TESTS=1 \
    ctest --test-dir "$dir" --output-on-failure --parallel "$(nproc)" -E "test_cuda"
}

valgrind_stage() {
  local vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
            --suppressions=tests/valgrind.supp
            --show-leak-kinds=definite --track-origins=yes --quiet)
  "${vg[@]}" "$build_dir/examples/lppool_demo" --quick > /dev/null
  "${vg[@]}" "$build_dir/tests/test_forward" "[seed]"
  "${vg[@]}" "$build_dir/tests/test_errors"
  # Not the views case: it runs the float64 rows backward, whose AVX2 code
  # has a VEX vmovq xmm, xmm in its 0xD6 (store-form) encoding, an opcode
  # valgrind 3.19 does not decode (SIGILL under valgrind only; the sanitizer
  # stage runs the whole suite).
  "${vg[@]}" "$build_dir/tests/test_dlpack" "~DLPack tensors give the same results as views"
  # Not the NaN/Inf edge suites: valgrind emulates x87 long double with 64-bit
  # doubles, which breaks the long-double reference there (not our kernels).
  "${vg[@]}" "$build_dir/tests/test_reliability" "[threads]"
  "${vg[@]}" "$build_dir/tests/test_stream"
  echo "valgrind: demo and 5 test executables clean"
}

fuzz() {
  bash fuzz/run.sh "${LPPOOL_FUZZ_SECONDS:-90}"
}

arm() {
  bash scripts/arm.sh
}

# memcheck runs a program's threads one at a time and the fuzzer is one
# process, so each keeps one core busy: asked for together, valgrind runs
# beside the fuzzer (its output is printed when both are done).
both_single_core=0
[[ " ${stages[*]} " == *" valgrind "* && " ${stages[*]} " == *" fuzz "* ]] && both_single_core=1
valgrind_pid=""
finish_valgrind() {
  [ -n "$valgrind_pid" ] || return 0
  local rc=0
  wait "$valgrind_pid" || rc=$?
  valgrind_pid=""
  cat "$build_dir/valgrind.log"
  [ $rc -eq 0 ] || { echo "valgrind memcheck failed (exit $rc)"; return 1; }
}
for s in "${stages[@]}"; do
  case "$s" in
    sanitizers) stage "sanitizers (ASan + UBSan + LSan)" sanitizers ;;
    valgrind)
      if [ $both_single_core -eq 1 ]; then
        stage "valgrind memcheck" valgrind_stage > "$build_dir/valgrind.log" 2>&1 &
        valgrind_pid=$!
        echo "=== valgrind memcheck runs beside the fuzzer (log: $build_dir/valgrind.log)"
      else
        stage "valgrind memcheck" valgrind_stage
      fi
      ;;
    fuzz)
      stage "fuzzing (libFuzzer)" fuzz
      finish_valgrind
      ;;
    arm) stage "aarch64 under qemu" arm ;;
    *) echo "unknown stage $s"; exit 2 ;;
  esac
done
finish_valgrind
