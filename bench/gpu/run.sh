#!/usr/bin/env bash
# Runs the CUDA test suite and the GPU benchmark on a machine with an NVIDIA
# GPU, from binaries built elsewhere (a normal build of this repository on a
# CPU machine: the GPU machine needs no compiler, Halide or CUDA toolkit,
# only the driver, which Halide's runtime opens by itself).
#
#   bash bench/gpu/run.sh [build-dir]        # default: build
#
# The two binaries it runs are linked statically against libstdc++/libgcc:
#   <build-dir>/tests/test_cuda  <build-dir>/bench/gpu/lppool_gpu_bench
# It prints the test summary, then for each benchmark case our forward or
# backward time, GB/s and % of the device-to-device copy bandwidth measured
# in the same run, then PyTorch's lp_pool1d on the same GPU (torch_gpu_bench.py)
# when the machine has a CUDA-enabled torch. Budget: under 8 minutes on one GPU.
set -uo pipefail
build="${1:-build}"
start=$SECONDS
status=0

echo "=== GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null ||
  echo "(nvidia-smi not available)"

echo "=== CUDA tests (full correctness grid on the device)"
LPPOOL_REQUIRE_CUDA_TESTS=1 timeout 300 "$build/tests/test_cuda" || status=1
echo "=== CUDA tests took $((SECONDS - start)) s"

bench_start=$SECONDS
echo "=== GPU benchmark (data in device memory; min/median of 10 after a warm-up)"
timeout 240 "$build/bench/gpu/lppool_gpu_bench" cuda --repeats 10 || status=1
echo "=== GPU benchmark took $((SECONDS - bench_start)) s"

torch_start=$SECONDS
echo "=== PyTorch lp_pool1d on the same GPU (the peer; skipped where torch has no CUDA)"
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  timeout 120 python3 "$(dirname "$0")/torch_gpu_bench.py" || status=1
else
  echo "(no CUDA-enabled PyTorch here)"
fi
echo "=== PyTorch took $((SECONDS - torch_start)) s; total $((SECONDS - start)) s"
exit $status
