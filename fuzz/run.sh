#!/usr/bin/env bash
# Builds the libFuzzer harness with clang-14 (ASan + UBSan + libFuzzer) on the
# kernels of the normal build, replays the committed seed corpus, then fuzzes
# for a fixed time. Fails on any crash, sanitizer report or mismatch.
#   bash fuzz/run.sh [seconds]        (default 90)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-90}"
build_dir="${LPPOOL_BUILD_DIR:-build}"
out="$build_dir/fuzz"
mkdir -p "$out/corpus"
artifacts() { ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2> /dev/null || true; }
artifacts | xargs -r rm -f
cmake --build "$build_dir" --target lppool_kernels_archive > /dev/null
# The same definitions the runtime is built with (GPU APIs, staging tiles).
read -r -a runtime_defines < "$build_dir/lppool_runtime_defines.txt"

halide_include=$(dirname "$(find /usr/include -name HalideRuntime.h -print -quit)")
clang++-14 -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I runtime -I algorithm -I schedules -I common -I "$build_dir/generators" -I "$halide_include" \
  fuzz/lppool_fuzzer.cpp runtime/lppool1d.cpp runtime/lppool1d_stream.cpp runtime/shape_check.cpp \
  runtime/device.cpp runtime/call_context.cpp runtime/block_cache.cpp \
  "${runtime_defines[@]}" \
  "$build_dir/liblppool_kernels.a" -lpthread -ldl -o "$out/lppool_fuzzer"

# The committed seeds, then new inputs into a scratch corpus (seeds first).
cp fuzz/corpus/* "$out/corpus/"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
"$out/lppool_fuzzer" -runs=0 fuzz/corpus
"$out/lppool_fuzzer" -max_total_time="$seconds" -max_len=512 -print_final_stats=1 \
  -artifact_prefix="$out/" "$out/corpus" 2>&1 | tee "$out/fuzz.log" | grep -E "^#[0-9]+.*(pulse|DONE)|stat::|ERROR|lppool_fuzzer:" || true
if grep -qE "ERROR|lppool_fuzzer:|SUMMARY" "$out/fuzz.log"; then
  # What the harness said about the input, and the input itself, so a CI log
  # alone reproduces it: base64 -d > crash; build/fuzz/lppool_fuzzer crash.
  grep -E "mismatch|^  [xy]\[|^p=|unexpected|runtime error|SUMMARY" "$out/fuzz.log" | head -40 || true
  for artifact in $(artifacts); do
    echo "fuzz: input $(basename "$artifact") (base64):"
    base64 -w 0 "$artifact"; echo
  done
  echo "fuzz: failure (artifacts in $out)"
  exit 1
fi
echo "fuzz: corpus $(ls "$out/corpus" | wc -l) inputs, $(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$out/fuzz.log" | grep -oE '[0-9]+$') executions in ${seconds} s, no failures"
