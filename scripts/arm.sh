#!/usr/bin/env bash
# The library on aarch64: Halide generates the kernels for arm-64-linux (NEON)
# from the same generators, g++-aarch64-linux-gnu builds the C++ runtime and
# the test suites statically, and qemu-aarch64 runs them (the CPU tests: the
# GPU kernels and the Python module are x86 build products only).
#   bash scripts/arm.sh          (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${LPPOOL_BUILD_DIR:-build}"
out="$build_dir/aarch64"
rm -rf "$out"
mkdir -p "$out/kernels" "$out/include" "$out/bin"
generators="$build_dir/generators/lppool1d_generators"
target="arm-64-linux-user_context-large_buffers"
kernel_target="$target-no_runtime"

gen() {  # name generator params...
  local name="$1" generator="$2"; shift 2
  "$generators" -g "$generator" -f "$name" -n "$name" -o "$out/kernels" \
    -e static_library,c_header target="$kernel_target" "$@"
}
jobs=()
for dtype in f32 f64; do
  for layout in rows channels_last; do
    powers=()
    [ "$layout" = rows ] && powers=(specialized_powers=exact specialized_rows=many)
    gen "lppool1d_forward_${dtype}_${layout}" "lppool1d_forward_${dtype}" layout=$layout "${powers[@]}" &
    gen "lppool1d_backward_${dtype}_${layout}" "lppool1d_backward_${dtype}" layout=$layout &
    wait
  done
  gen "lppool1d_forward_${dtype}_rows_wide_windows" "lppool1d_forward_${dtype}" layout=rows window_vectorization=along_window &
  gen "lppool1d_forward_${dtype}_rows_overlapping" "lppool1d_forward_${dtype}" layout=rows &
  gen "lppool1d_backward_${dtype}_rows_overlapping" "lppool1d_backward_${dtype}" layout=rows &
  # The variants' specializations: as generators/CMakeLists.txt passes them.
  gen "lppool1d_forward_${dtype}_rows_short" "lppool1d_forward_${dtype}" layout=rows specialized_rows=many &
  gen "lppool1d_forward_${dtype}_rows_long" "lppool1d_forward_${dtype}" layout=rows specialized_rows=few &
  gen "lppool1d_forward_${dtype}_rows_general_powers" "lppool1d_forward_${dtype}" layout=rows \
    specialized_powers=general specialized_rows=many &
  gen "lppool1d_backward_autodiff_${dtype}" "lppool1d_backward_autodiff_${dtype}" &
  wait
done
"$generators" -r lppool_runtime_aarch64 -o "$out/kernels" -e static_library target="$target"

# Headers the cross compiler may see (not the host's /usr/include).
halide_include=$(dirname "$(find /usr/include -name HalideRuntime.h -print -quit)")
cp "$halide_include"/HalideRuntime.h "$halide_include"/HalideBuffer.h "$out/include/"
mkdir -p "$out/include/catch2" "$out/include/dlpack"
cp /usr/include/catch2/catch.hpp "$out/include/catch2/"
cp /usr/include/dlpack/dlpack.h "$out/include/dlpack/"

cxx=(aarch64-linux-gnu-g++ -std=c++17 -O2 -static -pthread -I runtime -I tests -I "$out/include" -I "$out/kernels")
"${cxx[@]}" -c runtime/lppool1d.cpp -o "$out/lppool1d.o"
"${cxx[@]}" -c runtime/lppool1d_stream.cpp -o "$out/lppool1d_stream.o"
"${cxx[@]}" -c runtime/shape_check.cpp -o "$out/shape_check.o"
"${cxx[@]}" -c runtime/device.cpp -o "$out/device.o"
"${cxx[@]}" -c runtime/call_context.cpp -o "$out/call_context.o"
"${cxx[@]}" -c runtime/block_cache.cpp -o "$out/block_cache.o"
"${cxx[@]}" -c tests/test_main.cpp -o "$out/test_main.o"
libs=("$out"/lppool1d.o "$out"/lppool1d_stream.o "$out"/shape_check.o "$out"/device.o "$out"/call_context.o
      "$out"/block_cache.o
      -Wl,--start-group "$out"/kernels/*.a -Wl,--end-group -ldl)
suites=(test_forward test_backward test_numerics test_errors test_stream test_dlpack test_reliability
        test_block_cache)
for t in "${suites[@]}"; do
  "${cxx[@]}" "tests/$t.cpp" "$out/test_main.o" "${libs[@]}" -o "$out/bin/$t" &
  [ $(jobs -r | wc -l) -ge "$(nproc)" ] && wait -n
done
wait

for t in "${suites[@]}"; do
  echo "--- qemu-aarch64 $t"
  qemu-aarch64 "$out/bin/$t" | tail -2
done
echo "arm: ${#suites[@]} suites built for aarch64 and passed under qemu-aarch64"
