#!/usr/bin/env bash
# Installs the build to a temporary prefix, then, from outside the source
# tree, builds and runs examples/consumer against it (find_package(LPPool))
# and compiles the raw C program with pkg-config.
#   install_and_consume.sh <build dir> <source dir>
set -euo pipefail
build="$1"
source="$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
(cd "$prefix" && find . -type f | sort) > "$work/installed.txt"
echo "installed tree ($(wc -l < "$work/installed.txt") files, the first 60):"
head -n 60 "$work/installed.txt" | sed 's/^/  /'  # head reads a file: no SIGPIPE under pipefail

cp -r "$source/examples/consumer" "$work/consumer"   # outside the source tree
cmake -S "$work/consumer" -B "$work/consumer-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix" > "$work/configure.log"
cmake --build "$work/consumer-build" > "$work/build.log"
"$work/consumer-build/consumer"
"$work/consumer-build/raw_kernel"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -std=c11 -O2 "$work/consumer/raw_kernel.c" $(pkg-config --cflags --libs lppool) -o "$work/raw_pkgconfig"
"$work/raw_pkgconfig"
echo "install_and_consume: OK"
