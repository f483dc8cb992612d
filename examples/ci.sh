#!/usr/bin/env bash
# A CI job's cluster, with what makes the next run fast kept in $CACHE
# (save and restore that directory between runs with your CI's cache):
# the node image (`docker save`), the tool's cache and Go's caches.
#
#   examples/ci.sh COMMAND...    up, then COMMAND with KUBECONFIG set, then clean
#
# Run as root (the first run builds the node image with debootstrap), with
# local-cluster on PATH. Settings come from the environment as usual
# (K8S_DIND_KUBERNETES_VERSION, K8S_DIND_NUM_NODES, ...).
set -euo pipefail
cache=${CACHE:-$HOME/.cache/local-cluster-ci}
version=${K8S_DIND_KUBERNETES_VERSION:-v1.37.2}
export K8S_DIND_KUBERNETES_VERSION=$version
export K8S_DIND_CACHE_DIR=$cache/tool
export GOCACHE=$cache/go-build GOMODCACHE=$cache/go-mod
mkdir -p "$cache"

local-cluster doctor
arch=$(docker version -f '{{.Server.Arch}}')
image=kubeadm-local-cluster/node:$version-$arch
if [ -f "$cache/node-image.tar" ] && ! docker image inspect "$image" >/dev/null 2>&1; then
  docker load -i "$cache/node-image.tar"
fi
trap 'local-cluster clean' EXIT
# up prints `export KUBECONFIG=...` (and the kubectl alias) on stdout.
kubeconfig=$(local-cluster up | sed -n 's/^export KUBECONFIG=//p')
[ -f "$cache/node-image.tar" ] || docker save -o "$cache/node-image.tar" "$image"

KUBECONFIG=$kubeconfig "$@"
local-cluster status
