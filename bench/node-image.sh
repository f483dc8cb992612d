#!/usr/bin/env bash
# Node image build times: cold (empty tool cache and Go build cache; the Go
# module cache is kept, so downloads are not measured) and warm (the node
# images removed from the engine, the caches kept), and the image sizes.
# WARM_ONLY=1 skips the cold build (and uses the usual caches).
source "$(dirname "$0")/common.sh"
version=${1:-v1.37.2}
if [ "${WARM_ONLY:-0}" != 1 ]; then
  cache=$(mktemp -d /var/tmp/lc-bench-cache.XXXX)
  gocache=$(mktemp -d /var/tmp/lc-bench-gocache.XXXX)
  trap 'rm -rf "$cache" "$gocache"' EXIT
  export K8S_DIND_CACHE_DIR=$cache GOCACHE=$gocache
fi

snapshots=$(docker image ls -q --filter label=io.kubeadm-local-cluster.role=snapshot)
if [ -n "$snapshots" ]; then
  echo "cluster snapshots are made from the node images, which a cold build must remove;" >&2
  echo "clean those clusters first (local-cluster clean [--cluster-name NAME])" >&2
  exit 1
fi
remove_images() {
  # By id, so that untagged (superseded) builds go too; node images before
  # the bare image they are made from, hence the repeats.
  for _ in 1 2 3; do
    docker image ls -q --filter label=io.kubeadm-local-cluster.role=node-image | sort -u |
      xargs -r docker rmi -f >/dev/null 2>&1 || true
  done
}
remove_images
if [ "${WARM_ONLY:-0}" != 1 ]; then
  t=$(now); lc build node-image --kubernetes-version "$version" >/dev/null; cold=$(since "$t")
  remove_images
fi
t=$(now); lc build node-image --kubernetes-version "$version" >/dev/null; warm=$(since "$t")
size() { docker image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }
[ -n "${cold:-}" ] && echo "node image $version build, cold (empty caches): ${cold}s"
echo "node image $version build, warm (cached):       ${warm}s"
echo "node image size: $(size kubeadm-local-cluster/node:$version-amd64)"
echo "bare image size: $(size kubeadm-local-cluster/node-bare:trixie-amd64)"
