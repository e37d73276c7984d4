#!/usr/bin/env bash
# Installs every Debian 12 (bookworm) package the build, tests, demo, CI and
# benchmarks need, checked against a fresh minbase root
# (scripts/fresh-machine-check.sh). Idempotent: re-running it only checks
# that the packages are present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libhalide14-0-dev        # Halide 14: generators, AOT compiler, runtime headers
  libpng-dev libjpeg-dev   # Halide 14's CMake package requires them (its ImageIO) but does not depend on them
  catch2                   # Catch2 v2 test framework
  python3 python3-torch python3-numpy  # PyTorch lp_pool1d cross-check; ptxas check script
  pocl-opencl-icd ocl-icd-opencl-dev  # OpenCL on the CPU: runs the GPU schedule in tests
  libsndfile1-dev          # WAV input of the audio examples
  libdlpack-dev            # DLTensor entry points (tensors from PyTorch, NumPy, ...)
  pybind11-dev python3-dev python3-pytest  # the Python/PyTorch extension and its tests
  clang-14 libfuzzer-14-dev valgrind       # reliability: fuzzing, memcheck
  g++-aarch64-linux-gnu qemu-user          # reliability: aarch64 build run under qemu
  git debootstrap          # CI: scripts/fresh-machine-check.sh clones into a fresh root
)
# bench/run.sh also needs Google Benchmark and matplotlib for the plots, and
# bench/gpu/pack_tuner.sh xz (not in a minbase root).
if [ "${1:-}" = "--bench" ]; then
  packages+=(libbenchmark-dev python3-matplotlib xz-utils)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "[install-deps] installing: ${missing[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "[install-deps] all packages present"
fi
