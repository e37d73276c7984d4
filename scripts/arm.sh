#!/usr/bin/env bash
# The library on aarch64: Halide generates the kernels for arm-64-linux (NEON)
# from the same generators, g++-aarch64-linux-gnu builds the C++ runtime and
# the test suites statically, and qemu-aarch64 runs them (the CPU tests: the
# GPU kernels and the Python module are x86 build products only).
#   bash scripts/arm.sh          (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stage.sh
build_dir="${LPPOOL_BUILD_DIR:-build}"
out="$build_dir/aarch64"
rm -rf "$out"
mkdir -p "$out/kernels" "$out/include" "$out/bin"
generators="$build_dir/generators/lppool1d_generators"
target="arm-64-linux-user_context-large_buffers"
kernel_target="$target-no_runtime"

# Background jobs, at most nproc at once; wait_all fails if any did.
pids=()
spawn() {
  [ "$(jobs -rp | wc -l)" -lt "$(nproc)" ] || wait -n || true
  "$@" &
  pids+=($!)
}
wait_all() {
  local failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  pids=()
  return $failed
}

gen() {  # name generator params...
  local name="$1" generator="$2"; shift 2
  spawn "$generators" -g "$generator" -f "$name" -n "$name" -o "$out/kernels" \
    -e static_library,c_header target="$kernel_target" "$@"
}
# The CPU kernels of schedules/kernels.def with their generator parameters,
# as generators/CMakeLists.txt builds them (the file lists the slowest first,
# so the last jobs are short), and the autodiff kernels the tests check.
registry_cpu_kernels() {  # pass|variant|params per line
  sed -n 's/^LPPOOL_KERNEL(cpu, \([a-z]*\), \([a-z_0-9]*\), "\([^"]*\)")$/\1|\2|\3/p' schedules/kernels.def
}
registry_dtypes() {  # the keys of schedules/dtypes.def, one per line
  sed -n 's/^ *X(\([a-z0-9]*\), .*/\1/p' schedules/dtypes.def
}
generate_kernels() {
  local dtype pass variant params count=0
  while read -r dtype; do
    while IFS='|' read -r pass variant params; do
      # shellcheck disable=SC2086  # params: one generator parameter per word
      gen "lppool1d_${pass}_${dtype}_${variant}" "lppool1d_${pass}_${dtype}" $params
      count=$((count + 1))
    done < <(registry_cpu_kernels)
  done < <(registry_dtypes)
  for dtype in f32 f64; do
    gen "lppool1d_backward_autodiff_${dtype}" "lppool1d_backward_autodiff_${dtype}"
  done
  [ "$count" -ge 2 ] || { echo "arm: no CPU kernels read from schedules/kernels.def" >&2; return 1; }
  spawn "$generators" -r lppool_runtime_aarch64 -o "$out/kernels" -e static_library target="$target"
  wait_all
}
stage "aarch64: kernels (Halide, arm-64-linux)" generate_kernels

# Headers the cross compiler may see (not the host's /usr/include).
halide_include=$(dirname "$(find /usr/include -name HalideRuntime.h -print -quit)")
cp "$halide_include"/HalideRuntime.h "$halide_include"/HalideBuffer.h "$out/include/"
mkdir -p "$out/include/catch2" "$out/include/dlpack"
cp /usr/include/catch2/catch.hpp "$out/include/catch2/"
cp /usr/include/dlpack/dlpack.h "$out/include/dlpack/"

cxx=(aarch64-linux-gnu-g++ -std=c++17 -O2 -static -pthread -I runtime -I algorithm -I schedules -I common -I tests -I "$out/include" -I "$out/kernels")
runtime_sources=(runtime/lppool1d.cpp runtime/lppool1d_stream.cpp runtime/shape_check.cpp runtime/device.cpp
                 runtime/call_context.cpp runtime/block_cache.cpp)
# Longest under qemu first (run_suites starts them in this order).
suites=(test_numerics test_forward test_backward test_reliability test_half test_stream test_errors
        test_dlpack test_block_cache)
build_suites() {
  local objects=()
  for source in "${runtime_sources[@]}" tests/test_main.cpp; do
    local object="$out/$(basename "${source%.cpp}").o"
    objects+=("$object")
    spawn "${cxx[@]}" -c "$source" -o "$object"
  done
  wait_all
  local libs=("${objects[@]}" -Wl,--start-group "$out"/kernels/*.a -Wl,--end-group -ldl)
  for t in "${suites[@]}"; do
    spawn "${cxx[@]}" "tests/$t.cpp" "${libs[@]}" -o "$out/bin/$t"
  done
  wait_all
}
stage "aarch64: runtime and test suites (g++-aarch64-linux-gnu)" build_suites

# Under qemu the suites run nproc at a time, in the order above, each into
# its log; the logs are printed in that order. Alone under qemu on 2 cores:
# test_numerics 94 s, test_forward and test_backward about 50 s each, the
# rest 15 s; side by side, 124 s in all (with common/reference.h in float64
# here: binary128's software powl had made test_backward and test_forward
# take 287 s and 281 s, and the stage 480 s).
run_suites() {
  mkdir -p "$out/logs"
  local suite
  for suite in "${suites[@]}"; do
    spawn bash -c 'start=$SECONDS; qemu-aarch64 "$1" > "$2.log" 2>&1; rc=$?
                   echo "$rc $((SECONDS - start))" > "$2.status"' _ "$out/bin/$suite" "$out/logs/$suite"
  done
  wait_all
  local failed=0 rc seconds
  for suite in "${suites[@]}"; do
    read -r rc seconds < "$out/logs/$suite.status"
    echo "--- qemu-aarch64 $suite (${seconds} s)"
    if [ "$rc" -eq 0 ]; then
      tail -2 "$out/logs/$suite.log"
    else
      tail -60 "$out/logs/$suite.log"
      echo "aarch64: $suite failed (exit $rc)"
      failed=1
    fi
  done
  return $failed
}
stage "aarch64: test suites under qemu-aarch64" run_suites
echo "arm: ${#suites[@]} suites built for aarch64 and passed under qemu-aarch64"
