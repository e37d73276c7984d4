#!/usr/bin/env bash
# One command for the whole benchmark: installs what it needs, builds the
# kernels, the peers and the probes into build-bench/, runs them and PyTorch,
# and writes bench/RESULTS.md, bench/roofline.png and bench/sweep.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --bench
build_dir="${LPPOOL_BENCH_BUILD_DIR:-build-bench}"
LPPOOL_BUILD_DIR="$build_dir" bash scripts/build.sh -DLPPOOL_BUILD_BENCH=ON -DLPPOOL_BUILD_TESTS=OFF
out=$(mktemp -d)
# One process per thread count: Halide 14's pool never retires workers it has
# started, so a later halide_set_num_threads(1) would not give one thread.
# Passive OpenMP workers (the hand-written peers' pool), so they do not spin
# on the cores our kernels run on next.
for threads in 1 2; do
  OMP_WAIT_POLICY=passive HL_NUM_THREADS=$threads "$build_dir/bench/lppool_bench" \
    --benchmark_filter="threads:$threads|validation" \
    --benchmark_out="$out/bench_$threads.json" --benchmark_out_format=json \
    --benchmark_format=console | grep -E "_min|validation" || true
done
PYTHONPATH="$build_dir/python" /usr/bin/python3 bench/torch_bench.py "$out/torch.json"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
/usr/bin/python3 bench/report.py "$out/bench_1.json,$out/bench_2.json" "$out/torch.json" bench "$commit"
"$build_dir/bench/lppool_stream_bench" >> bench/RESULTS.md
cat bench/RESULTS.md
