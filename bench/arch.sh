#!/usr/bin/env bash
# Node images for other architectures, built on this host:
#   bench/arch.sh [ARCH...]            (default: arm64)
# For each architecture: the time of `build node-image --arch ARCH` as the
# caches stand (the first one of an architecture includes its Debian base,
# Go cross-compiles and pause), the time of a rebuild from warm caches
# (`--force`: only the build container step runs again), the image's size,
# and bench/check-arch.sh's verdict (ELF machines, image configs, `kubeadm
# version` under qemu-user where binfmt_misc has it).
# COLD=1 gives the first build an empty tool cache and Go build cache (the
# Go module cache is kept, so downloads are not measured).
# Foreign architectures need qemu-user-static registered with binfmt_misc
# (flag F), and a cross compiler for pause; the tool says what to install.
# Only images of the listed architectures are built; none are removed.
source "$(dirname "$0")/common.sh"
version=${VERSION:-v1.37.2}
[ $# -gt 0 ] || set -- arm64
if [ "${COLD:-0}" = 1 ]; then
  cache=$(mktemp -d /var/tmp/lc-bench-cache.XXXX)
  gocache=$(mktemp -d /var/tmp/lc-bench-gocache.XXXX)
  trap 'rm -rf "$cache" "$gocache"' EXIT
  export K8S_DIND_CACHE_DIR=$cache GOCACHE=$gocache
fi
size() { docker image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }
results=()
for arch in "$@"; do
  image=kubeadm-local-cluster/node:$version-$arch
  log=$(mktemp /var/tmp/lc-bench-arch-$arch.XXXX.log)
  t=$(now)
  if ! lc build node-image --kubernetes-version "$version" --arch "$arch" --v 2 >"$log" 2>&1; then
    echo "$arch: build failed after $(since "$t")s; the end of $log:" >&2
    tail -15 "$log" >&2
    results+=("$arch: build FAILED ($(since "$t")s, log $log)")
    continue
  fi
  first=$(since "$t")
  steps=$(grep '✓' "$log" | sed 's/^ *✓ */    /')
  t=$(now)
  lc build node-image --kubernetes-version "$version" --arch "$arch" --force >>"$log" 2>&1
  warm=$(since "$t")
  echo "== $arch ($image)"
  echo "  first build's steps:"
  echo "$steps"
  if check=$("$(dirname "$0")/check-arch.sh" "$image" "$arch" 2>&1); then verdict=OK; else verdict=MISMATCH; fi
  echo "$check"
  results+=("$arch: build ${first}s, rebuild from warm caches ${warm}s, $(size "$image"), check $verdict")
done
echo
echo "node image $version by architecture (host $(uname -m)):"
printf '  %s\n' "${results[@]}"
