#!/usr/bin/env bash
# Runs one of the README's quick-start commands, exactly as written, on a
# fresh Debian 12 (bookworm) minbase root with nothing in it but a clone of
# the commit under test: the only honest test of scripts/install-deps.sh.
#
# Usage (as root): bash scripts/fresh-machine-check.sh [demo|test]
#   demo (default)  bash scripts/demo.sh: install, build the kernels, run the demo
#   test            bash scripts/test.sh: install, build everything, ctest
# Environment:
#   LPPOOL_FRESH_CACHE  folder for the cached minbase root tarball
#                       (default /var/cache/lppool-fresh-root; outside the checkout)
#   LPPOOL_FRESH_KEEP=1 keep the root after the run (it is unmounted either way)
#   LPPOOL_FRESH_REF    commit to clone (default HEAD)
#   LPPOOL_FRESH_CPU_TARGETS  generate the CPU kernels for these Halide
#                       targets only (the same packages; a shorter build)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-demo}"
case "$mode" in demo|test) ;; *) echo "usage: $0 [demo|test]" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine-check: needs root (debootstrap, chroot, mounts)" >&2; exit 2; }
command -v debootstrap > /dev/null ||
  { echo "fresh-machine-check: debootstrap missing; run scripts/install-deps.sh" >&2; exit 2; }

repo="$PWD"
ref="$(git rev-parse "${LPPOOL_FRESH_REF:-HEAD}")"
cache_dir="${LPPOOL_FRESH_CACHE:-/var/cache/lppool-fresh-root}"
arch="$(dpkg --print-architecture)"
tarball="$cache_dir/debian12-minbase-$arch.tar"

# The Debian mirror this machine's own apt uses (deb822 .sources or a
# one-line sources.list), skipping the security archive.
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'tolower($1) == "uris:" && $2 !~ /security/ { print $2; exit }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f"
  done
}
mirror="$(debian_mirror | head -n 1)"
[ -n "$mirror" ] || { echo "fresh-machine-check: no Debian mirror in /etc/apt sources" >&2; exit 1; }

root="$(mktemp -d /var/tmp/lppool-fresh-root.XXXXXX)"
mounted=()
cleanup() {
  local status=$? i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[i]}" 2> /dev/null || umount -R -l "${mounted[i]}" || true
  done
  # Never delete through a mount: only remove the root once nothing is mounted below it.
  if grep -q " $root/" /proc/mounts; then
    echo "fresh-machine-check: mounts remain under $root; not removing it" >&2
  elif [ "${LPPOOL_FRESH_KEEP:-0}" = 1 ]; then
    echo "fresh-machine-check: root kept at $root"
  else
    rm -rf --one-file-system "$root"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stage_start=$SECONDS
if [ ! -f "$tarball" ]; then
  echo "[fresh] debootstrap --variant=minbase bookworm from $mirror (cached in $tarball)"
  mkdir -p "$cache_dir"
  debootstrap --variant=minbase bookworm "$root" "$mirror" > "$root.debootstrap.log" 2>&1 ||
    { tail -n 30 "$root.debootstrap.log"; rm -f "$root.debootstrap.log"; exit 1; }
  rm -f "$root.debootstrap.log"
  tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
else
  echo "[fresh] minbase root from $tarball"
  tar -C "$root" -xf "$tarball"
fi

cp /etc/resolv.conf "$root/etc/resolv.conf"
git clone --quiet --no-hardlinks "$repo" "$root/root/lppool"
git -C "$root/root/lppool" checkout --quiet --detach "$ref"
echo "[fresh] cloned $ref into the root ($((SECONDS - stage_start)) s since the start)"

mount -t proc proc "$root/proc"; mounted+=("$root/proc")
mount --rbind /sys "$root/sys"; mount --make-rslave "$root/sys"; mounted+=("$root/sys")
mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"; mounted+=("$root/dev")

log="$root/root/quick-start.log"
# LPPOOL_FRESH_CPU_TARGETS: the command's build generates the CPU kernels for
# these Halide targets only (scripts/build.sh's LPPOOL_CPU_TARGETS). The
# packages it proves are the same; CI sets one target, since generating all
# three again after its main build is most of this stage's time.
targets_env=()
[ -n "${LPPOOL_FRESH_CPU_TARGETS:-}" ] && targets_env=(LPPOOL_CPU_TARGETS="$LPPOOL_FRESH_CPU_TARGETS")
echo "[fresh] running: ${targets_env[*]:+${targets_env[*]} }bash scripts/$mode.sh"
set +e
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${targets_env[@]}" \
  bash -c "cd /root/lppool && bash scripts/$mode.sh" 2>&1 | tee "$log" |
  grep --line-buffered -E '^(\[install-deps\]|=== |CMake Error|LPPool1d|  forward vs plain|[0-9]+% tests passed)'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "[fresh] bash scripts/$mode.sh failed ($status) on the fresh root; its last lines:"
  tail -n 40 "$log"
  exit 1
fi

# The command's own success is not enough: its output must be what it promises.
expect() {
  grep -qE "$1" "$log" || { echo "[fresh] missing from the output: $1"; tail -n 40 "$log"; exit 1; }
}
if [ "$mode" = demo ]; then
  expect '^LPPool1d demo$'
  expect 'on ones\(1, 8, 16\)'
  expect 'shape \(1, 8, 4\)'
  expect 'forward vs plain loop: max relative difference'
else
  expect '100% tests passed, 0 tests failed'
fi
echo "[fresh] bash scripts/$mode.sh passed on a fresh Debian 12 minbase root"
