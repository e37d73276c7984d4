#!/usr/bin/env bash
# Packs lppool-tune with libHalide and every library it loads (LLVM, z3,
# ICU, ...) into one xz tarball, for a GPU machine that has the NVIDIA driver
# but no Halide: the JIT needs libHalide where it runs. glibc, libstdc++ and
# libgcc stay behind (the GPU machine's own are newer). Debian 12 x86-64.
#   bash bench/gpu/pack_tuner.sh [build-dir] [out-dir]   -> <out-dir>/tuner.tar.xz
set -euo pipefail
build="${1:-build}"
out="${2:-.gpu_tuner}"
tuner="$build/tools/tune/lppool-tune"
[ -x "$tuner" ] || { echo "no $tuner: build first"; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib" "$out"
cp "$tuner" "$stage/"
ldd "$tuner" | awk '/=> \// {print $3}' | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libstdc++.so*|libgcc_s.so*) ;;
    *) cp -L "$lib" "$stage/lib/" ;;
  esac
done
tar -C "$stage" -cf - . | xz -T0 -6 > "$out/tuner.tar.xz"
ls -la "$out/tuner.tar.xz"
